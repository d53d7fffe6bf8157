-- Fantasy Collective bundle. One text for SQLite and PostgreSQL: BIGINT for
-- integers and times (ms since epoch), TEXT for decimals (rust_decimal
-- strings), JSON and ids.

-- Real-world data: players, real teams, games and per-week stat lines.
CREATE TABLE IF NOT EXISTS fantasy_players (
    id          TEXT PRIMARY KEY,
    sport       TEXT NOT NULL,
    name        TEXT NOT NULL,
    team        TEXT NOT NULL,
    positions   TEXT NOT NULL,          -- JSON array, first is primary
    status      TEXT NOT NULL,          -- active | questionable | out | injured_reserve
    salary      TEXT,                   -- daily-contest salary (decimal)
    source      TEXT NOT NULL,          -- sample | import:csv | import:json
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS fantasy_players_sport_idx ON fantasy_players (sport, team);

CREATE TABLE IF NOT EXISTS fantasy_real_teams (
    sport       TEXT NOT NULL,
    code        TEXT NOT NULL,
    PRIMARY KEY (sport, code)
);

CREATE TABLE IF NOT EXISTS fantasy_games (
    sport       TEXT NOT NULL,
    season      BIGINT NOT NULL,
    week        BIGINT NOT NULL,
    team        TEXT NOT NULL,
    opponent    TEXT,
    start_ms    BIGINT,
    PRIMARY KEY (sport, season, week, team)
);

CREATE TABLE IF NOT EXISTS fantasy_player_stats (
    player_id   TEXT NOT NULL,
    season      BIGINT NOT NULL,
    week        BIGINT NOT NULL,
    opponent    TEXT,
    stats       TEXT NOT NULL,          -- JSON object stat -> decimal string
    source      TEXT NOT NULL,
    imported_ms BIGINT NOT NULL,
    PRIMARY KEY (player_id, season, week)
);
CREATE INDEX IF NOT EXISTS fantasy_player_stats_week_idx ON fantasy_player_stats (season, week);

-- Fantasy leagues (season-long or daily contests) and their teams.
CREATE TABLE IF NOT EXISTS fantasy_leagues (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    sport           TEXT NOT NULL,
    season          BIGINT NOT NULL,
    kind            TEXT NOT NULL,      -- season | daily
    scoring         TEXT NOT NULL,      -- JSON rule set
    slots           TEXT NOT NULL,      -- JSON array of slots
    bench_size      BIGINT NOT NULL,
    salary_cap      TEXT,
    max_teams       BIGINT NOT NULL,
    entry_fee       TEXT NOT NULL,
    veto_window_ms  BIGINT NOT NULL,
    veto_votes      BIGINT NOT NULL,    -- vetoes that cancel an accepted trade
    weeks           BIGINT NOT NULL,
    current_week    BIGINT NOT NULL,    -- next week to score
    start_ms        BIGINT NOT NULL,    -- week 1 kick-off; week w locks at start + (w-1) * 7 days
    commissioner    TEXT NOT NULL,
    created_ms      BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS fantasy_teams (
    id              TEXT PRIMARY KEY,
    league_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    owner           TEXT NOT NULL,
    collective_id   TEXT,
    waiver_priority BIGINT NOT NULL,    -- 1 claims first
    created_ms      BIGINT NOT NULL,
    UNIQUE (league_id, name)
);

-- A player belongs to at most one team per league.
CREATE TABLE IF NOT EXISTS fantasy_rosters (
    league_id   TEXT NOT NULL,
    player_id   TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    acquired_ms BIGINT NOT NULL,
    how         TEXT NOT NULL,          -- draft | trade | waiver | free_agent
    PRIMARY KEY (league_id, player_id)
);
CREATE INDEX IF NOT EXISTS fantasy_rosters_team_idx ON fantasy_rosters (team_id);

CREATE TABLE IF NOT EXISTS fantasy_lineups (
    team_id     TEXT NOT NULL,
    week        BIGINT NOT NULL,
    slot_index  BIGINT NOT NULL,
    slot        TEXT NOT NULL,
    player_id   TEXT NOT NULL,
    locked      BIGINT NOT NULL,        -- 0/1, set at game start
    set_ms      BIGINT NOT NULL,
    PRIMARY KEY (team_id, week, slot_index)
);

CREATE TABLE IF NOT EXISTS fantasy_matchups (
    league_id   TEXT NOT NULL,
    week        BIGINT NOT NULL,
    home_team   TEXT NOT NULL,
    away_team   TEXT NOT NULL,
    home_score  TEXT,
    away_score  TEXT,
    winner      TEXT,                   -- home | away | tie, null until scored
    detail      TEXT,                   -- JSON (categories)
    PRIMARY KEY (league_id, week, home_team)
);

CREATE TABLE IF NOT EXISTS fantasy_team_weeks (
    league_id   TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    week        BIGINT NOT NULL,
    points      TEXT NOT NULL,
    totals      TEXT NOT NULL,          -- JSON summed stat line
    scored_ms   BIGINT NOT NULL,
    PRIMARY KEY (team_id, week)
);

-- Trades, vetoes, waivers and the league transaction log.
CREATE TABLE IF NOT EXISTS fantasy_trades (
    id              TEXT PRIMARY KEY,
    league_id       TEXT NOT NULL,
    from_team       TEXT NOT NULL,
    to_team         TEXT NOT NULL,
    give            TEXT NOT NULL,      -- JSON array of player ids from_team sends
    receive         TEXT NOT NULL,      -- JSON array of player ids from_team gets
    status          TEXT NOT NULL,      -- proposed | countered | accepted | rejected | vetoed | executed | failed
    parent_id       TEXT,
    message         TEXT,
    created_ms      BIGINT NOT NULL,
    responded_ms    BIGINT,
    veto_until_ms   BIGINT
);
CREATE INDEX IF NOT EXISTS fantasy_trades_league_idx ON fantasy_trades (league_id, status);

CREATE TABLE IF NOT EXISTS fantasy_trade_vetoes (
    trade_id    TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    PRIMARY KEY (trade_id, team_id)
);

CREATE TABLE IF NOT EXISTS fantasy_waiver_claims (
    id              TEXT PRIMARY KEY,
    league_id       TEXT NOT NULL,
    team_id         TEXT NOT NULL,
    add_player      TEXT NOT NULL,
    drop_player     TEXT,
    week            BIGINT NOT NULL,
    status          TEXT NOT NULL,      -- pending | won | lost | invalid
    note            TEXT,
    created_ms      BIGINT NOT NULL,
    processed_ms    BIGINT
);
CREATE INDEX IF NOT EXISTS fantasy_waivers_league_idx ON fantasy_waiver_claims (league_id, status);

CREATE TABLE IF NOT EXISTS fantasy_transactions (
    id          TEXT PRIMARY KEY,
    league_id   TEXT NOT NULL,
    team_id     TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,          -- JSON
    at_ms       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS fantasy_transactions_league_idx ON fantasy_transactions (league_id, at_ms);

-- Projection models (one per sport, rule set and position, versioned) and projections.
CREATE TABLE IF NOT EXISTS fantasy_models (
    version     BIGINT NOT NULL,
    sport       TEXT NOT NULL,
    scoring     TEXT NOT NULL,          -- rule set name
    position    TEXT NOT NULL,
    model       TEXT NOT NULL,          -- JSON PositionModel
    trained_ms  BIGINT NOT NULL,
    PRIMARY KEY (version, sport, scoring, position)
);

CREATE TABLE IF NOT EXISTS fantasy_projections (
    model_version BIGINT NOT NULL,
    scoring       TEXT NOT NULL,
    player_id     TEXT NOT NULL,
    season        BIGINT NOT NULL,
    week          BIGINT NOT NULL,
    points        TEXT NOT NULL,
    low           TEXT NOT NULL,
    high          TEXT NOT NULL,
    drivers       TEXT NOT NULL,        -- JSON
    created_ms    BIGINT NOT NULL,
    PRIMARY KEY (model_version, scoring, player_id, season, week)
);

-- Collectives: a syndicate-owned team.
CREATE TABLE IF NOT EXISTS fantasy_collectives (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    league_id       TEXT NOT NULL,
    team_id         TEXT NOT NULL,
    quorum_pct      TEXT NOT NULL,      -- share of stake that must vote
    approve_pct     TEXT NOT NULL,      -- share of voting stake that must approve
    pool            TEXT NOT NULL,      -- pooled money (decimal)
    created_ms      BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS fantasy_collective_members (
    collective_id   TEXT NOT NULL,
    member          TEXT NOT NULL,
    stake           TEXT NOT NULL,      -- contributed capital (decimal)
    paid_out        TEXT NOT NULL,      -- winnings received (decimal)
    joined_ms       BIGINT NOT NULL,
    PRIMARY KEY (collective_id, member)
);

CREATE TABLE IF NOT EXISTS fantasy_collective_proposals (
    id              TEXT PRIMARY KEY,
    collective_id   TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- lineup | trade | payout
    payload         TEXT NOT NULL,      -- JSON
    status          TEXT NOT NULL,      -- open | passed | failed | executed
    created_by      TEXT NOT NULL,
    created_ms      BIGINT NOT NULL,
    decided_ms      BIGINT
);

CREATE TABLE IF NOT EXISTS fantasy_collective_votes (
    proposal_id     TEXT NOT NULL,
    member          TEXT NOT NULL,
    approve         BIGINT NOT NULL,    -- 0/1
    weight          TEXT NOT NULL,      -- stake at vote time
    at_ms           BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, member)
);
