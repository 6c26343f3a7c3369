DROP TABLE drill_sources;
DROP TABLE drills;
