-- Flash-sale checkout: the catalogue, and the orders the orders worker settles.
-- MySQL is the truth for stock; the CHECK makes a negative stock impossible even for a
-- statement that forgets the guard.
CREATE TABLE IF NOT EXISTS products (
    id          INT UNSIGNED   NOT NULL,
    sku         VARCHAR(64)    NOT NULL,
    name        VARCHAR(255)   NOT NULL,
    price       DECIMAL(12, 2) NOT NULL,
    stock       INT            NOT NULL,
    updated_at  DATETIME(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'UTC',
    PRIMARY KEY (id),
    UNIQUE KEY products_sku (sku),
    CONSTRAINT products_stock_not_negative CHECK (stock >= 0),
    CONSTRAINT products_price_positive CHECK (price > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The id is minted at the gateway (a ULID, or derived from the Idempotency-Key), so a
-- redelivered message can never make a second order. Rows are written by the worker,
-- already decided: "pending" lives in Redis until then.
CREATE TABLE IF NOT EXISTS orders (
    id              CHAR(26)       NOT NULL,
    status          VARCHAR(16)    NOT NULL,
    reason          VARCHAR(255)   NULL COMMENT 'why it was rejected',
    total           DECIMAL(14, 2) NOT NULL,
    currency        CHAR(3)        NOT NULL,
    email           VARCHAR(254)   NOT NULL,
    phone           VARCHAR(32)    NOT NULL,
    address         VARCHAR(500)   NOT NULL,
    accepted_at     DATETIME(3)    NOT NULL COMMENT 'UTC, stamped by the gateway',
    stored_at       DATETIME(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC',
    updated_at      DATETIME(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    request_id      VARCHAR(64)    NULL,
    idempotency_key VARCHAR(255)   NULL,
    PRIMARY KEY (id),
    KEY orders_accepted_at (accepted_at),
    KEY orders_status (status),
    CONSTRAINT orders_status_known CHECK (status IN ('pending', 'confirmed', 'rejected')),
    CONSTRAINT orders_total_positive CHECK (total > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS order_items (
    order_id    CHAR(26)       NOT NULL,
    product_id  INT UNSIGNED   NOT NULL,
    quantity    SMALLINT       NOT NULL,
    unit_price  DECIMAL(12, 2) NOT NULL COMMENT 'price when the stock was reserved',
    PRIMARY KEY (order_id, product_id),
    KEY order_items_product (product_id),
    CONSTRAINT order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT order_items_quantity CHECK (quantity BETWEEN 1 AND 10)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
