//! Player data in the database: imports (CSV, JSON, the bundled sample
//! season, or a [`StatsProvider`]), reads, and versioned projections.

use std::collections::BTreeMap;

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Actor, audit, dec_col, json_col, opt_dec_col, to_json};
use crate::error::{FantasyError, Result};
use crate::model::{GameStat, Player, PlayerStatus, Sport};
use crate::projection::{PositionModel, Projection, history, project, train};
use crate::sample::{SAMPLE_SEED, sample_schedule, sample_season};
use crate::scoring::RuleSet;
use crate::stats::ImportBatch;

/// What to pull from a [`StatsProvider`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// Season (year); `None`: whatever the source has.
    pub season: Option<i64>,
    /// Fantasy week the lines are filed under; `None`: every week the
    /// source has (the sample season), where the source allows it.
    pub week: Option<i64>,
    /// Calendar dates (`YYYY-MM-DD`) whose games make up the week, for
    /// sources that work by date (BALLDONTLIE).
    pub dates: Vec<String>,
}

/// Where stats come from: the bundled sample season by default; a real
/// provider client ([`crate::provider::BallDontLie`]) implements the same
/// trait and is used when configured.
#[async_trait::async_trait]
pub trait StatsProvider: Send + Sync {
    /// Provider name as reported in answers (`sample`, `balldontlie`).
    fn name(&self) -> &str;
    /// Players and stat lines for a sport, as far as `query` asks.
    async fn fetch(&self, sport: Sport, query: &StatsQuery) -> Result<ImportBatch>;
}

/// The seeded sample season (NFL, NBA).
#[derive(Debug, Clone, Copy)]
pub struct SampleProvider {
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SampleProvider {
    fn default() -> Self {
        Self { seed: SAMPLE_SEED }
    }
}

#[async_trait::async_trait]
impl StatsProvider for SampleProvider {
    fn name(&self) -> &str {
        "sample"
    }

    async fn fetch(&self, sport: Sport, query: &StatsQuery) -> Result<ImportBatch> {
        let (players, mut stats) = sample_season(sport, self.seed).ok_or_else(|| {
            FantasyError::invalid(
                "sport",
                format!("no bundled sample season for {sport}; import stats with fantasy_import_stats (CSV or JSON)"),
            )
        })?;
        let keep = |season: i64, week: i64| {
            query.season.is_none_or(|y| y == season) && query.week.is_none_or(|w| w == week)
        };
        stats.retain(|s| keep(s.season, s.week));
        let mut games = sample_schedule(sport);
        games.retain(|g| keep(g.season, g.week));
        Ok(ImportBatch {
            players,
            stats,
            notes: Vec::new(),
            games,
        })
    }
}

/// Counts of what an import stored.
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
pub struct ImportCounts {
    /// Players inserted or updated.
    pub players: usize,
    /// Stat lines inserted or replaced.
    pub stat_lines: usize,
    /// Team-game rows (one per team and week) whose opponent and kickoff
    /// were set.
    pub games: usize,
}

/// Stores an import in one transaction, audited.
pub async fn store_batch(
    store: &Store,
    actor: &Actor,
    sport: Sport,
    batch: &ImportBatch,
    source: &str,
    now_ms: i64,
) -> Result<ImportCounts> {
    let mut tx = store.pool().begin().await?;
    for p in &batch.players {
        if p.positions.is_empty() {
            return Err(FantasyError::invalid(
                format!("players.{}.positions", p.id),
                "a new player needs `positions`",
            ));
        }
        sqlx::query(
            "INSERT INTO fantasy_players (id, sport, name, team, positions, status, salary, source, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, team = excluded.team, positions = excluded.positions, \
             status = excluded.status, salary = excluded.salary, source = excluded.source, updated_ms = excluded.updated_ms",
        )
        .bind(p.id.as_str())
        .bind(sport.as_str())
        .bind(p.name.as_str())
        .bind(p.team.as_str())
        .bind(to_json(&p.positions))
        .bind(p.status.as_str())
        .bind(p.salary.map(|s| s.to_string()))
        .bind(source)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO fantasy_real_teams (sport, code) VALUES ($1, $2) ON CONFLICT (sport, code) DO NOTHING")
            .bind(sport.as_str())
            .bind(p.team.as_str())
            .execute(&mut *tx)
            .await?;
    }
    for (i, s) in batch.stats.iter().enumerate() {
        let known: Option<(String, String)> =
            sqlx::query("SELECT sport, team FROM fantasy_players WHERE id = $1")
                .bind(s.player_id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)));
        match known.as_ref().map(|k| k.0.as_str()) {
            None => {
                return Err(FantasyError::invalid(
                    format!("rows[{i}].player_id"),
                    format!(
                        "unknown player `{}`: give name, team and positions on its first row",
                        s.player_id
                    ),
                ));
            }
            Some(other) if other != sport.as_str() => {
                let other = other.to_string();
                return Err(FantasyError::invalid(
                    format!("rows[{i}].player_id"),
                    format!("`{}` is a {other} player", s.player_id),
                ));
            }
            Some(_) => {}
        }
        if let (Some(opponent), Some((_, team))) = (&s.opponent, &known) {
            // The real schedule, as far as the stats tell it.
            sqlx::query(
                "INSERT INTO fantasy_games (sport, season, week, team, opponent) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (sport, season, week, team) DO UPDATE SET opponent = excluded.opponent",
            )
            .bind(sport.as_str())
            .bind(s.season)
            .bind(s.week)
            .bind(team.as_str())
            .bind(opponent.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO fantasy_player_stats (player_id, season, week, opponent, stats, source, imported_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (player_id, season, week) DO UPDATE SET opponent = excluded.opponent, stats = excluded.stats, \
             source = excluded.source, imported_ms = excluded.imported_ms",
        )
        .bind(s.player_id.as_str())
        .bind(s.season)
        .bind(s.week)
        .bind(s.opponent.clone())
        .bind(to_json(&s.stats))
        .bind(source)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    for g in &batch.games {
        sqlx::query(
            "INSERT INTO fantasy_games (sport, season, week, team, opponent, start_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (sport, season, week, team) DO UPDATE SET \
             opponent = COALESCE(excluded.opponent, fantasy_games.opponent), \
             start_ms = COALESCE(excluded.start_ms, fantasy_games.start_ms)",
        )
        .bind(sport.as_str())
        .bind(g.season)
        .bind(g.week)
        .bind(g.team.as_str())
        .bind(g.opponent.clone())
        .bind(g.start_ms)
        .execute(&mut *tx)
        .await?;
    }
    let counts = ImportCounts {
        players: batch.players.len(),
        stat_lines: batch.stats.len(),
        games: batch.games.len(),
    };
    audit(
        &mut tx,
        actor,
        "ok",
        &serde_json::json!({"event": "stats_import", "sport": sport, "source": source, "players": counts.players, "stat_lines": counts.stat_lines, "games": counts.games}),
    )
    .await?;
    tx.commit().await?;
    Ok(counts)
}

/// Loads the bundled sample season for `sport` when the database holds no
/// players of that sport. Returns whether it loaded.
pub async fn ensure_data(store: &Store, sport: Sport, now_ms: i64) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM fantasy_players WHERE sport = $1")
        .bind(sport.as_str())
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    if n > 0 {
        return Ok(false);
    }
    let provider = SampleProvider::default();
    let Ok(batch) = provider.fetch(sport, &StatsQuery::default()).await else {
        return Ok(false);
    };
    store_batch(
        store,
        &Actor::system(store, "fantasy_sample_season", now_ms),
        sport,
        &batch,
        "sample",
        now_ms,
    )
    .await?;
    Ok(true)
}

fn player_from_row(row: &AnyRow) -> Result<Player> {
    let sport: String = row.try_get("sport")?;
    let status: String = row.try_get("status")?;
    Ok(Player {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        sport: sport
            .parse()
            .map_err(|_| FantasyError::Corrupt(format!("sport `{sport}`")))?,
        team: row.try_get("team")?,
        positions: json_col(row, "positions")?,
        status: PlayerStatus::parse(&status).unwrap_or_default(),
        salary: opt_dec_col(row, "salary")?,
    })
}

/// All players of a sport.
pub async fn players(store: &Store, sport: Sport) -> Result<Vec<Player>> {
    let rows = sqlx::query("SELECT id, sport, name, team, positions, status, salary FROM fantasy_players WHERE sport = $1 ORDER BY id")
        .bind(sport.as_str())
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(player_from_row).collect()
}

/// One player.
pub async fn player(store: &Store, id: &str) -> Result<Player> {
    let row = sqlx::query("SELECT id, sport, name, team, positions, status, salary FROM fantasy_players WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| FantasyError::NotFound(format!("no player `{id}`")))?;
    player_from_row(&row)
}

fn stat_from_row(row: &AnyRow) -> Result<GameStat> {
    Ok(GameStat {
        player_id: row.try_get("player_id")?,
        season: row.try_get("season")?,
        week: row.try_get("week")?,
        opponent: row.try_get("opponent")?,
        stats: json_col(row, "stats")?,
    })
}

/// Stat lines of one player in a season.
pub async fn player_stats(store: &Store, player_id: &str, season: i64) -> Result<Vec<GameStat>> {
    let rows = sqlx::query(
        "SELECT player_id, season, week, opponent, stats FROM fantasy_player_stats WHERE player_id = $1 AND season = $2 ORDER BY week",
    )
    .bind(player_id)
    .bind(season)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(stat_from_row).collect()
}

/// Stat lines of every player of a sport in a season, optionally one week only.
pub async fn season_stats(
    store: &Store,
    sport: Sport,
    season: i64,
    week: Option<i64>,
) -> Result<Vec<GameStat>> {
    let rows = sqlx::query(
        "SELECT s.player_id, s.season, s.week, s.opponent, s.stats FROM fantasy_player_stats s \
         JOIN fantasy_players p ON p.id = s.player_id \
         WHERE p.sport = $1 AND s.season = $2 AND ($3 < 0 OR s.week = $3) ORDER BY s.player_id, s.week",
    )
    .bind(sport.as_str())
    .bind(season)
    .bind(week.unwrap_or(-1))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(stat_from_row).collect()
}

/// The latest season with stats for a sport.
pub async fn latest_season(store: &Store, sport: Sport) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT MAX(s.season) FROM fantasy_player_stats s JOIN fantasy_players p ON p.id = s.player_id WHERE p.sport = $1",
    )
    .bind(sport.as_str())
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?)
}

/// Trains position models for a sport and rule set on a season, stores them
/// (filed under [`RuleSet::cache_key`], so other rules never reuse them)
/// under a new version and returns (version, models).
pub async fn train_models(
    store: &Store,
    sport: Sport,
    rules: &RuleSet,
    season: i64,
    now_ms: i64,
) -> Result<(i64, Vec<PositionModel>)> {
    let players = players(store, sport).await?;
    let positions: BTreeMap<String, String> = players
        .iter()
        .filter_map(|p| p.positions.first().map(|pos| (p.id.clone(), pos.clone())))
        .collect();
    let salaries: BTreeMap<String, f64> = players
        .iter()
        .filter_map(|p| Some((p.id.clone(), p.salary?.to_f64()?)))
        .collect();
    let lines = season_stats(store, sport, season, None).await?;
    let models = train(sport, rules, &positions, &salaries, &lines);
    let key = rules.cache_key();
    let mut tx = store.pool().begin().await?;
    let version: i64 = sqlx::query(
        "SELECT COALESCE(MAX(version), 0) FROM fantasy_models WHERE sport = $1 AND scoring = $2",
    )
    .bind(sport.as_str())
    .bind(key.as_str())
    .fetch_one(&mut *tx)
    .await?
    .try_get::<i64, _>(0)?
        + 1;
    for m in &models {
        sqlx::query("INSERT INTO fantasy_models (version, sport, scoring, position, model, trained_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(version)
            .bind(sport.as_str())
            .bind(key.as_str())
            .bind(m.position.as_str())
            .bind(to_json(m))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((version, models))
}

/// The latest models for a sport and rule set, training them when none exist.
pub async fn models(
    store: &Store,
    sport: Sport,
    rules: &RuleSet,
    season: i64,
    now_ms: i64,
) -> Result<(i64, BTreeMap<String, PositionModel>)> {
    let key = rules.cache_key();
    let rows = sqlx::query(
        "SELECT version, position, model FROM fantasy_models WHERE sport = $1 AND scoring = $2 \
         AND version = (SELECT MAX(version) FROM fantasy_models WHERE sport = $1 AND scoring = $2)",
    )
    .bind(sport.as_str())
    .bind(key.as_str())
    .fetch_all(store.pool())
    .await?;
    let mut out = BTreeMap::new();
    let mut version = 0;
    for row in &rows {
        version = row.try_get("version")?;
        let m: PositionModel = json_col(row, "model")?;
        out.insert(m.position.clone(), m);
    }
    // Models stored before the no-history prior existed are retrained
    // once (a trained model always has a prior: both come from the same
    // games).
    let stale = !out.is_empty() && out.values().all(|m| m.prior.is_none());
    if out.is_empty() || stale {
        let (version, list) = train_models(store, sport, rules, season, now_ms).await?;
        return Ok((
            version,
            list.into_iter().map(|m| (m.position.clone(), m)).collect(),
        ));
    }
    Ok((version, out))
}

/// Projections for `week` of `season` (from games before that week) for the
/// given players (all of the sport when `only` is None); stored under the
/// model version.
#[allow(clippy::too_many_arguments)]
pub async fn project_players(
    store: &Store,
    sport: Sport,
    rules: &RuleSet,
    season: i64,
    week: i64,
    only: Option<&[String]>,
    now_ms: i64,
) -> Result<(i64, Vec<Projection>)> {
    let (version, models) = models(store, sport, rules, season, now_ms).await?;
    let players = players(store, sport).await?;
    let lines = season_stats(store, sport, season, None).await?;
    let mut by_player: BTreeMap<&str, Vec<&GameStat>> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.week < week) {
        by_player.entry(l.player_id.as_str()).or_default().push(l);
    }
    let mut out = Vec::new();
    for p in &players {
        if let Some(ids) = only
            && !ids.contains(&p.id)
        {
            continue;
        }
        let Some(pos) = p.positions.first() else {
            continue;
        };
        let Some(model) = models.get(pos) else {
            continue;
        };
        let lines = by_player.get(p.id.as_str()).cloned().unwrap_or_default();
        let hist: Vec<(f64, f64)> = history(sport, rules, pos, &lines)
            .iter()
            .map(|h| (h.1, h.2))
            .collect();
        let salary = p.salary.and_then(|s| s.to_f64());
        out.push(project(model, &p.id, week, &hist, salary, p.status));
    }
    let key = rules.cache_key();
    let mut tx = store.pool().begin().await?;
    for pr in &out {
        sqlx::query(
            "INSERT INTO fantasy_projections (model_version, scoring, player_id, season, week, points, low, high, drivers, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (model_version, scoring, player_id, season, week) DO UPDATE SET points = excluded.points, \
             low = excluded.low, high = excluded.high, drivers = excluded.drivers, created_ms = excluded.created_ms",
        )
        .bind(version)
        .bind(key.as_str())
        .bind(pr.player_id.as_str())
        .bind(season)
        .bind(week)
        .bind(pr.points.to_string())
        .bind(pr.low.to_string())
        .bind(pr.high.to_string())
        .bind(to_json(&pr.drivers))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((version, out))
}

/// Stored projection history of a player (all versions), newest first.
pub async fn stored_projections(
    store: &Store,
    player_id: &str,
) -> Result<Vec<(i64, String, i64, Decimal)>> {
    let rows = sqlx::query(
        "SELECT model_version, scoring, week, points FROM fantasy_projections WHERE player_id = $1 ORDER BY model_version DESC, week DESC",
    )
    .bind(player_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                dec_col(r, "points")?,
            ))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nt_mcp_core::store::core_migrations;

    /// A migrated in-memory SQLite store.
    pub(crate) async fn test_store() -> Store {
        store_at("sqlite::memory:").await
    }

    /// A migrated store at `url`.
    pub(crate) async fn store_at(url: &str) -> Store {
        let store = Store::open(url).await.unwrap();
        let mut all = core_migrations();
        all.extend(crate::db::migrations());
        store.migrate(&all).await.unwrap();
        store
    }

    db_tests! {
        sample_season_loads_once_and_projects => sample_season_body;
        csv_import_refuses_unknown_players_without_writing => csv_refusal_body;
    }

    async fn sample_season_body(store: Store) {
        assert!(ensure_data(&store, Sport::Nfl, 1).await.unwrap());
        assert!(!ensure_data(&store, Sport::Nfl, 2).await.unwrap());
        let players = players(&store, Sport::Nfl).await.unwrap();
        assert_eq!(players.len(), 32 * 13);
        let season = latest_season(&store, Sport::Nfl).await.unwrap().unwrap();
        let rules = RuleSet::preset("nfl_ppr").unwrap();
        let ids = vec!["nfl-kc-wr1".to_string()];
        let (v1, p) = project_players(&store, Sport::Nfl, &rules, season, 10, Some(&ids), 3)
            .await
            .unwrap();
        assert_eq!(p.len(), 1);
        assert!(p[0].low < p[0].points && p[0].points < p[0].high);
        // Retraining gives a new version; both projections are kept.
        let (v2, _) = train_models(&store, Sport::Nfl, &rules, season, 4)
            .await
            .unwrap();
        assert_eq!(v2, v1 + 1);
        project_players(&store, Sport::Nfl, &rules, season, 10, Some(&ids), 5)
            .await
            .unwrap();
        let stored = stored_projections(&store, "nfl-kc-wr1").await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0].0, v2);
        // Models stored before the no-history prior existed are retrained
        // on first use; the new version has priors.
        let old = r#"{"position":"WR","coefficients":[0.0,0.0,1.0,0.0],"residual_sd":5.0,"samples":10,"r_squared":0.1}"#;
        sqlx::query("INSERT INTO fantasy_models (version, sport, scoring, position, model, trained_ms) VALUES ($1, 'nfl', $2, 'WR', $3, 6)")
            .bind(v2 + 1)
            .bind(rules.cache_key())
            .bind(old)
            .execute(store.pool())
            .await
            .unwrap();
        let (v4, fresh) = models(&store, Sport::Nfl, &rules, season, 7).await.unwrap();
        assert_eq!(v4, v2 + 2, "retrained");
        assert!(fresh.values().all(|m| m.prior.is_some()));
        let (v4_again, _) = models(&store, Sport::Nfl, &rules, season, 8).await.unwrap();
        assert_eq!(v4_again, v4, "current models are used as they are");
        // The schedule came with the stats: every team plays every week, in pairs.
        let games: Vec<(String, String)> = sqlx::query("SELECT team, opponent FROM fantasy_games WHERE sport = 'nfl' AND season = 2024 AND week = 3")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(games.len(), 32);
        for (team, opp) in &games {
            assert!(
                games.contains(&(opp.clone(), team.clone())),
                "{team} v {opp}"
            );
        }
        // The import was audited.
        let n: i64 =
            sqlx::query("SELECT COUNT(*) FROM audit_log WHERE tool = 'fantasy_sample_season'")
                .fetch_one(store.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(n, 1);
    }

    async fn csv_refusal_body(store: Store) {
        let batch =
            crate::stats::parse_csv(Sport::Nfl, "player_id,season,week,rec\nghost,2024,1,3\n")
                .unwrap();
        let err = store_batch(
            &store,
            &Actor::system(&store, "t", 1),
            Sport::Nfl,
            &batch,
            "import:csv",
            1,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0].player_id"),
            "{err}"
        );
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    }
}
