-- 0018_rating_channel (both dialects): where a rating was given — the
-- mini-program or a kiosk's screen (issue 16, ratings on the spot). Owned
-- by services/cases, like the table. Ratings given before this column are
-- the mini-program's, the only channel that could rate then. The figures
-- (Satisfaction, the per-level counters) count every channel together.
ALTER TABLE ratings ADD COLUMN channel TEXT NOT NULL DEFAULT 'miniapp';
