DROP TABLE rpc_requests;
