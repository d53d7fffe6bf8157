-- Lock at game start: each lineup slot locks at its own player's kickoff
-- (fantasy_games.start_ms, seeded by the sample season and by imports that
-- carry kickoff times), not a whole league week at once.
ALTER TABLE fantasy_lineups ADD COLUMN locked_ms BIGINT;    -- when the slot locked (kickoff), null while open

CREATE INDEX IF NOT EXISTS fantasy_games_kickoff_idx ON fantasy_games (sport, season, week, start_ms);
