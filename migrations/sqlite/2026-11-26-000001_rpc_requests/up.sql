CREATE TABLE rpc_requests (
    request_id VARCHAR(64) NOT NULL PRIMARY KEY,
    method VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX rpc_requests_created_at_idx ON rpc_requests (created_at);
