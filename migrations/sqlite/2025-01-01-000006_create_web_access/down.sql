DROP TABLE login_throttle;
DROP TABLE api_tokens;
DROP TABLE sessions;
