//! Expected values were computed independently with Python's `decimal`
//! module at 50 significant digits from the closed forms (Beefy's
//! `compound(r, n, t, c) = (1 + r·c/n)^(n·t) − 1`, beefyfinance/beefy-api
//! `src/utils/compound.ts`; IL `2√r/(1+r) − 1`, e.g. Pintail, "Understanding
//! Uniswap Returns" (2019), and the Bancor IL paper: r = 4 gives −20 %).

use super::*;
use rust_decimal_macros::dec;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
}

#[test]
fn beefy_compounding_matches_decimal_reference() {
    // farm APR 50 %, fee 9.5 %, 2190 harvests a year.
    close(
        vault_apy(0.5, 0.095, BASE_HPY),
        0.572_164_383_876_775_5,
        1e-12,
    );
    close(vault_apr(0.5, 0.095), 0.4525, 1e-15);
    // 10 % APR compounded daily: the textbook 10.5156 %.
    close(apr_to_apy(0.10, 365.0), 0.105_155_781_616_264_37, 1e-13);
    // Trading fees multiply, not add: (1 + vaultApy)(1 + 0.05) − 1.
    let total = total_apy(vault_apy(0.5, 0.095, BASE_HPY), 0.05, 0.0);
    close(total, 0.650_772_603_070_614_3, 1e-12);
    // No compounding: the APR itself.
    close(compound(0.2, 0.0, 1.0, 1.0), 0.2, 0.0);
}

#[test]
fn snapshot_breakdowns_agree_with_the_formula() {
    let d = crate::beefy::snapshot::data().expect("snapshot");
    let mut checked = 0;
    for (id, b) in &d.breakdown {
        let (Some(apr), Some(n), Some(apy)) = (b.vault_apr, b.compoundings_per_year, b.vault_apy)
        else {
            continue;
        };
        close(apr_to_apy(apr, n), apy, 1e-9 * (1.0 + apy));
        let total = total_apy(apy, b.trading_apr.unwrap_or(0.0), 0.0);
        close(total, b.total_apy.expect("total"), 1e-9 * (1.0 + total));
        assert!(d.vault(id).is_ok());
        checked += 1;
    }
    assert!(checked > 25, "{checked}");
}

#[test]
fn lp_fee_and_boost_aprs() {
    // $2M a day through a 0.3 % pool with $50M liquidity: 2e6·0.003·365/5e7.
    close(
        lp_fee_apr(2_000_000.0, 0.003, 50_000_000.0).expect("apr"),
        0.0438,
        1e-15,
    );
    assert!(lp_fee_apr(1.0, 0.003, 0.0).is_err());
    // 1 token/s at $1 over $31,536,000 staked: exactly 100 %.
    close(
        boost_apr(1.0, 1.0, 31_536_000.0, 1.0, 1.0).expect("apr"),
        1.0,
        1e-15,
    );
    // 0.5/s at $2 over 1e6 moo · ppfs 1.25 · $10: 31,536,000 / 12,500,000 = 2.52288.
    close(
        boost_apr(0.5, 2.0, 1e6, 1.25, 10.0).expect("apr"),
        2.522_88,
        1e-12,
    );
    assert_eq!(boost_apr(1.0, 1.0, 0.0, 1.0, 1.0), None);
}

#[test]
fn impermanent_loss_reference_points() {
    close(impermanent_loss(1.0).expect("il"), 0.0, 0.0);
    close(
        impermanent_loss(2.0).expect("il"),
        -0.057_190_958_417_936_63,
        1e-15,
    );
    close(impermanent_loss(4.0).expect("il"), -0.2, 1e-15);
    close(impermanent_loss(0.25).expect("il"), -0.2, 1e-15);
    close(
        impermanent_loss(1.5).expect("il"),
        -0.020_204_102_886_728_76,
        1e-15,
    );
    assert!(impermanent_loss(0.0).is_err());
    assert!(impermanent_loss(f64::NAN).is_err());
}

#[test]
fn il_report_values_the_pool_and_break_even() {
    // $10,000, ETH 2000 -> 8000 (r = 4): hold = 2.5 ETH·8000 + 5000 = 25,000;
    // LP = 2·√(k·p) = 2·√(2.5·5000·8000) = 20,000; IL −20 %.
    let r = il_report(dec!(10000), 2000.0, 8000.0, 0.0, 365.0).expect("report");
    assert_eq!(r.hold_value, dec!(25000));
    assert_eq!(r.lp_value, dec!(20000));
    close(r.impermanent_loss, -0.2, 1e-15);
    close(r.amount_a_after, 1.25, 1e-12);
    close(r.amount_b_after, 10_000.0, 1e-9);
    // Break-even over a year: 1/0.8 − 1 = 25 %.
    close(r.break_even_apy.expect("be"), 0.25, 1e-12);
    let with = il_report(dec!(10000), 2000.0, 8000.0, 0.25, 365.0).expect("report");
    assert_eq!(with.lp_value_with_fees, dec!(25000));
    assert!(il_report(dec!(0), 1.0, 1.0, 0.0, 1.0).is_err());
    assert!(il_report(dec!(1), -1.0, 1.0, 0.0, 1.0).is_err());
}

#[test]
fn projected_yield_and_growth() {
    // 1000·(1.12^(90/365) − 1) = 28.3381569493828...
    let y = projected_yield(dec!(1000), 0.12, 90.0);
    assert!((y - dec!(28.33815695)).abs() < dec!(0.000001), "{y}");
    close(growth(0.12, 31_536_000_000), 1.12, 1e-12);
    close(growth(0.12, 0), 1.0, 0.0);
    close(growth(0.12, -5), 1.0, 0.0);
}
