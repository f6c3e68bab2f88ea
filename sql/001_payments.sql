-- Payments accepted at the gateway and stored by the payments worker.
-- The id is minted at the gateway, so a redelivered message can never make a second row.
CREATE TABLE IF NOT EXISTS payments (
    id              CHAR(26)       NOT NULL,
    amount          DECIMAL(12, 2) NOT NULL,
    currency        CHAR(3)        NOT NULL,
    accepted_at     DATETIME(3)    NOT NULL COMMENT 'UTC, stamped by the gateway',
    stored_at       DATETIME(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'UTC',
    request_id      VARCHAR(64)    NULL,
    idempotency_key VARCHAR(255)   NULL,
    PRIMARY KEY (id),
    KEY payments_accepted_at (accepted_at),
    CONSTRAINT payments_amount_positive CHECK (amount > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
