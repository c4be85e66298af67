-- Device state rows are LZ4-compressed by store::state_codec (format byte 0x02) from
-- this version on; rows written before (0x01) are read as they are. PostgreSQL's own
-- TOAST compression would only spend CPU on bytes that no longer compress: store them
-- out of line without it.
ALTER TABLE devices ALTER COLUMN state SET STORAGE EXTERNAL;
COMMENT ON COLUMN devices.state IS 'store::state_codec row: 0x02 LZ4-compressed record (0x01 uncompressed, before migration 2)';
