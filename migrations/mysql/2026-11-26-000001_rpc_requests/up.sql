CREATE TABLE rpc_requests (
    request_id VARCHAR(64) NOT NULL PRIMARY KEY,
    method VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX rpc_requests_created_at_idx ON rpc_requests (created_at);
