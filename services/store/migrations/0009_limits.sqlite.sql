-- 0009_limits (SQLite): which device session each kiosk citizen session was
-- started on. Ending a device session (logout, revocation) ends every citizen
-- session on it; the citizen's session never outlives the device's.
-- Owned by services/identity, like sessions.
CREATE TABLE kiosk_sessions (
    session_id        TEXT PRIMARY KEY,
    device_session_id TEXT NOT NULL
);
CREATE INDEX kiosk_sessions_device_idx ON kiosk_sessions (device_session_id);
