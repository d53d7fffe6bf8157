//! A payout split by stake with the largest-remainder method, in integers,
//! so the parts add up to the amount exactly and each is within one unit
//! (a cent) of its exact share.

use rust_decimal::Decimal;

/// Decimal places of pooled money: whole cents.
pub const CENT_SCALE: u32 = 2;

/// `value` as a whole number of `10^-scale` units (negative `scale`:
/// `10^|scale|` units), rounded half up; None when it does not fit.
fn units_at(value: Decimal, scale: i64) -> Option<i128> {
    let m = value.mantissa();
    let shift = scale - i64::from(value.scale());
    if shift >= 0 {
        m.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)
    } else {
        let div = u32::try_from(-shift)
            .ok()
            .and_then(|e| 10i128.checked_pow(e));
        Some(match div {
            Some(div) => (m + div / 2).div_euclid(div),
            None => 0,
        })
    }
}

/// Splits `amount` by stake with the largest-remainder method, so that the
/// parts add up to `amount` exactly.
///
/// The unit is the cent, or the amount's own precision when it is finer
/// (the ledger refuses such amounts, see the pool's own whole-cent check; the split stays
/// exact for any amount). Each member first gets their pro-rata share
/// rounded down to the unit; the units left (fewer than the number of
/// members) go one each to the largest remainders, ties to the larger
/// stake, then to the member name. Shares are computed in integers, so
/// every part is within one unit of the exact share. A member whose stake
/// is zero (or negative) gets nothing; with no stake at all every part is
/// zero and the caller must not pay (a payout motion refuses it).
pub fn split_by_stake(amount: Decimal, stakes: &[(String, Decimal)]) -> Vec<(String, Decimal)> {
    let scale = amount.normalize().scale().max(CENT_SCALE);
    let zero = Decimal::new(0, scale);
    let none =
        || -> Vec<(String, Decimal)> { stakes.iter().map(|(m, _)| (m.clone(), zero)).collect() };
    // Decimal's largest mantissa (2^96 - 1): parts beyond it cannot be written.
    const MAX_UNITS: i128 = (1i128 << 96) - 1;
    let Some(units) = units_at(amount, i64::from(scale)).filter(|u| *u > 0 && *u <= MAX_UNITS)
    else {
        return none();
    };
    let positive = |s: &Decimal| *s > Decimal::ZERO;
    // Stakes as integers on one scale; a coarser scale when the products
    // would not fit (only for absurd magnitudes: it changes weights by far
    // less than a unit of the amount).
    let mut weight_scale = stakes
        .iter()
        .filter(|(_, s)| positive(s))
        .map(|(_, s)| i64::from(s.normalize().scale()))
        .max()
        .unwrap_or(0);
    let (weights, total) = loop {
        let weights: Option<Vec<i128>> = stakes
            .iter()
            .map(|(_, s)| {
                if positive(s) {
                    units_at(*s, weight_scale)
                } else {
                    Some(0)
                }
            })
            .collect();
        let fits = weights.as_ref().and_then(|w| {
            let total = w.iter().try_fold(0i128, |acc, x| acc.checked_add(*x))?;
            units.checked_mul(total)?;
            Some(total)
        });
        match (weights, fits) {
            (Some(w), Some(total)) => break (w, total),
            _ if weight_scale < -40 => return none(),
            _ => weight_scale -= 1,
        }
    };
    if total <= 0 {
        return none();
    }
    let mut floors: Vec<i128> = weights.iter().map(|w| units * w / total).collect();
    let rems: Vec<i128> = weights.iter().map(|w| units * w % total).collect();
    let left = units - floors.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..stakes.len()).filter(|&i| weights[i] > 0).collect();
    order.sort_by(|&a, &b| {
        rems[b]
            .cmp(&rems[a])
            .then(stakes[b].1.cmp(&stakes[a].1))
            .then(stakes[a].0.cmp(&stakes[b].0))
    });
    for &i in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        floors[i] += 1;
    }
    stakes
        .iter()
        .zip(floors)
        .map(|((m, _), f)| (m.clone(), Decimal::from_i128_with_scale(f, scale)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn thirds_and_the_largest_remainder() {
        let stakes: Vec<(String, Decimal)> = ["a", "b", "c"]
            .iter()
            .map(|m| (m.to_string(), dec!(100)))
            .collect();
        let parts = split_by_stake(dec!(100), &stakes);
        assert_eq!(
            parts.iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![dec!(33.34), dec!(33.33), dec!(33.33)]
        );
    }

    proptest! {
        #[test]
        fn parts_add_up_and_stay_within_a_cent(
            cents in 1i64..10_000_000,
            stakes in proptest::collection::vec(0i64..1_000_000, 1..12),
        ) {
            let amount = Decimal::new(cents, 2);
            let named: Vec<(String, Decimal)> = stakes
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("m{i}"), Decimal::new(*s, 2)))
                .collect();
            let total: Decimal = named.iter().map(|s| s.1).sum();
            let parts = split_by_stake(amount, &named);
            if total > Decimal::ZERO {
                prop_assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), amount);
                for ((_, stake), (_, part)) in named.iter().zip(&parts) {
                    let exact = amount * *stake / total;
                    prop_assert!((*part - exact).abs() < dec!(0.01));
                }
            } else {
                prop_assert!(parts.iter().all(|p| p.1.is_zero()));
            }
        }
    }
}
