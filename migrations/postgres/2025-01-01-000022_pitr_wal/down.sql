DROP TABLE pitr_wal_streamers;
DROP TABLE pitr_wal_segments;
