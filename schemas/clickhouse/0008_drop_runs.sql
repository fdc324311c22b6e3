-- `runs` is replaced by runs_monthly (0007), which holds every run it held. Dropped in a migration of
-- its own, after 0007 is recorded: a 0007 interrupted and retried still finds `runs` to copy from.
DROP TABLE IF EXISTS runs_mv;

DROP TABLE IF EXISTS runs;
