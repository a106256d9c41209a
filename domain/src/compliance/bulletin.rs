//! The monthly bulletin (逐月通报, docs/supervision.md): per township, village and cadre, facts
//! rather than rankings — residency, visits, spot-check results, negative-list items and the
//! escalation level — with totals. No points, scores, online time or app usage (current rules
//! forbid them). The CSV and the spreadsheet are the same [`table`].

use serde::Serialize;
use std::collections::HashSet;

use super::row::ComplianceRow;

/// Spot-check results by outcome; a result withdrawn by an upheld dispute is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SpotCounts {
    pub present: u32,
    pub absent: u32,
    pub on_leave: u32,
    pub on_trip: u32,
    pub late: u32,
    pub missed: u32,
    pub unverifiable: u32,
    pub confirmed: u32,
    pub denied: u32,
}

impl SpotCounts {
    pub fn of(row: &ComplianceRow) -> SpotCounts {
        let mut counts = SpotCounts::default();
        for result in &row.spot_checks {
            if result.dispute.as_ref().is_some_and(|(_, s)| s == "upheld") {
                continue;
            }
            let slot = match result.outcome.as_str() {
                "present" => &mut counts.present,
                "absent" => &mut counts.absent,
                "on_leave" => &mut counts.on_leave,
                "on_trip" => &mut counts.on_trip,
                "late" => &mut counts.late,
                "missed" => &mut counts.missed,
                "unverifiable" => &mut counts.unverifiable,
                "confirmed" => &mut counts.confirmed,
                "denied" => &mut counts.denied,
                _ => continue,
            };
            *slot += 1;
        }
        counts
    }

    fn add(&mut self, other: &SpotCounts) {
        self.present += other.present;
        self.absent += other.absent;
        self.on_leave += other.on_leave;
        self.on_trip += other.on_trip;
        self.late += other.late;
        self.missed += other.missed;
        self.unverifiable += other.unverifiable;
        self.confirmed += other.confirmed;
        self.denied += other.denied;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    pub proposed: u32,
    pub confirmed: u32,
    pub dismissed: u32,
}

impl ItemCounts {
    pub fn count(&mut self, status: &str) {
        match status {
            "proposed" => self.proposed += 1,
            "confirmed" => self.confirmed += 1,
            "dismissed" => self.dismissed += 1,
            _ => {}
        }
    }
}

/// Confirmed items in the rolling window and the level they reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EscalationState {
    pub count: u32,
    /// 0 below the first threshold.
    pub level: u32,
    pub name: Option<String>,
}

/// One cadre in one village.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub person_id: String,
    pub display_name: String,
    pub compliant: bool,
    /// Each reason in Chinese, for the people the bulletin is written for.
    pub reasons: Vec<String>,
    pub days_in_village: u32,
    pub required_days: Option<u32>,
    pub nights_in_village: u32,
    pub required_nights: Option<u32>,
    pub leave_days: u32,
    pub trip_days: u32,
    pub visits: u32,
    pub households: u32,
    pub overdue_households: u32,
    pub spot_checks: SpotCounts,
    pub negative_items: ItemCounts,
    pub escalation: EscalationState,
}

impl Line {
    pub fn new(
        person_id: String,
        display_name: String,
        row: &ComplianceRow,
        negative_items: ItemCounts,
        escalation: EscalationState,
    ) -> Line {
        Line {
            person_id,
            display_name,
            compliant: row.compliant,
            reasons: row.reasons.iter().map(|r| r.text_zh.clone()).collect(),
            days_in_village: row.days_in_village,
            required_days: row.required_days,
            nights_in_village: row.nights_in_village,
            required_nights: row.required_nights,
            leave_days: row.leave_days,
            trip_days: row.trip_days,
            visits: row.visits,
            households: row.households.len() as u32,
            overdue_households: row.overdue_households,
            spot_checks: SpotCounts::of(row),
            negative_items,
            escalation,
        }
    }
}

/// Sums over lines; `cadres` counts distinct people (a cadre who served two villages in turn
/// has a line in each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub lines: u32,
    pub cadres: u32,
    pub compliant: u32,
    pub not_compliant: u32,
    pub days_in_village: u32,
    pub nights_in_village: u32,
    pub leave_days: u32,
    pub trip_days: u32,
    pub visits: u32,
    pub overdue_households: u32,
    pub spot_checks: SpotCounts,
    pub negative_items: ItemCounts,
}

impl Totals {
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Totals {
        let mut totals = Totals::default();
        let mut people = HashSet::new();
        for line in lines {
            people.insert(line.person_id.as_str());
            totals.lines += 1;
            if line.compliant {
                totals.compliant += 1;
            } else {
                totals.not_compliant += 1;
            }
            totals.days_in_village += line.days_in_village;
            totals.nights_in_village += line.nights_in_village;
            totals.leave_days += line.leave_days;
            totals.trip_days += line.trip_days;
            totals.visits += line.visits;
            totals.overdue_households += line.overdue_households;
            totals.spot_checks.add(&line.spot_checks);
            totals.negative_items.proposed += line.negative_items.proposed;
            totals.negative_items.confirmed += line.negative_items.confirmed;
            totals.negative_items.dismissed += line.negative_items.dismissed;
        }
        totals.cadres = people.len() as u32;
        totals
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Village {
    pub unit_code: String,
    pub name: String,
    pub totals: Totals,
    pub cadres: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Township {
    pub unit_code: String,
    pub name: String,
    pub totals: Totals,
    pub villages: Vec<Village>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bulletin {
    pub unit_code: String,
    pub unit_name: String,
    pub level: String,
    pub month: String,
    pub from: String,
    pub to: String,
    /// The month has ended (county time); before that the figures are so far.
    pub complete: bool,
    pub totals: Totals,
    pub townships: Vec<Township>,
}

impl Bulletin {
    /// Fills every total from the lines.
    pub fn total(&mut self) {
        for township in &mut self.townships {
            for village in &mut township.villages {
                village.totals = Totals::of(&village.cadres);
            }
            township.totals = Totals::of(township.villages.iter().flat_map(|v| &v.cadres));
        }
        self.totals = Totals::of(
            self.townships
                .iter()
                .flat_map(|t| &t.villages)
                .flat_map(|v| &v.cadres),
        );
    }
}

/// A spreadsheet cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Number(u32),
    Empty,
}

/// The bulletin's column headings, as county offices write them.
pub const HEADER: [&str; 28] = [
    "乡镇",
    "村",
    "干部",
    "人员编号",
    "是否达标",
    "未达标原因",
    "在村天数",
    "应在村天数",
    "在村夜数",
    "应在村夜数",
    "请假天数",
    "出差天数",
    "走访次数",
    "结对户数",
    "逾期未走访户数",
    "抽查在岗",
    "抽查不在岗",
    "抽查请假",
    "抽查出差",
    "抽查迟答",
    "抽查未应答",
    "抽查无法核实",
    "入户核实确认",
    "入户核实否认",
    "负面清单待定",
    "负面清单确认",
    "负面清单排除",
    "预警等级",
];

/// The header, a row per line, a 合计 row per township, then one 总计 row.
pub fn table(bulletin: &Bulletin) -> Vec<Vec<Cell>> {
    let text = |s: &str| Cell::Text(s.to_owned());
    let mut rows = vec![HEADER.iter().map(|h| text(h)).collect::<Vec<_>>()];
    for township in &bulletin.townships {
        for village in &township.villages {
            for line in &village.cadres {
                let mut row = vec![
                    text(&township.name),
                    text(&village.name),
                    text(&line.display_name),
                    text(&line.person_id),
                    text(if line.compliant { "是" } else { "否" }),
                    text(&line.reasons.join("；")),
                    Cell::Number(line.days_in_village),
                    line.required_days.map_or(Cell::Empty, Cell::Number),
                    Cell::Number(line.nights_in_village),
                    line.required_nights.map_or(Cell::Empty, Cell::Number),
                    Cell::Number(line.leave_days),
                    Cell::Number(line.trip_days),
                    Cell::Number(line.visits),
                    Cell::Number(line.households),
                    Cell::Number(line.overdue_households),
                ];
                row.extend(spot_cells(&line.spot_checks));
                row.extend(item_cells(&line.negative_items));
                row.push(line.escalation.name.as_deref().map_or(Cell::Empty, text));
                rows.push(row);
            }
        }
        rows.push(total_row(
            text(&township.name),
            text("合计"),
            &township.totals,
        ));
    }
    rows.push(total_row(text("总计"), Cell::Empty, &bulletin.totals));
    rows
}

fn spot_cells(s: &SpotCounts) -> [Cell; 9] {
    [
        s.present,
        s.absent,
        s.on_leave,
        s.on_trip,
        s.late,
        s.missed,
        s.unverifiable,
        s.confirmed,
        s.denied,
    ]
    .map(Cell::Number)
}

fn item_cells(i: &ItemCounts) -> [Cell; 3] {
    [i.proposed, i.confirmed, i.dismissed].map(Cell::Number)
}

/// A totals row: the compliant count under 是否达标, sums elsewhere, nothing where a sum means
/// nothing (required days differ per cadre).
fn total_row(first: Cell, second: Cell, t: &Totals) -> Vec<Cell> {
    let mut row = vec![
        first,
        second,
        Cell::Empty,
        Cell::Empty,
        Cell::Text(format!("达标{}/{}", t.compliant, t.lines)),
        Cell::Empty,
        Cell::Number(t.days_in_village),
        Cell::Empty,
        Cell::Number(t.nights_in_village),
        Cell::Empty,
        Cell::Number(t.leave_days),
        Cell::Number(t.trip_days),
        Cell::Number(t.visits),
        Cell::Empty,
        Cell::Number(t.overdue_households),
    ];
    row.extend(spot_cells(&t.spot_checks));
    row.extend(item_cells(&t.negative_items));
    row.push(Cell::Empty);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(person: &str, compliant: bool, visits: u32) -> Line {
        Line {
            person_id: person.into(),
            display_name: person.into(),
            compliant,
            reasons: if compliant {
                vec![]
            } else {
                vec!["在村天数不足（3/5）".into()]
            },
            days_in_village: 3,
            required_days: Some(5),
            nights_in_village: 2,
            required_nights: None,
            leave_days: 0,
            trip_days: 1,
            visits,
            households: 2,
            overdue_households: 0,
            spot_checks: SpotCounts::default(),
            negative_items: ItemCounts::default(),
            escalation: EscalationState::default(),
        }
    }

    #[test]
    fn totals_sum_lines_and_count_people_once() {
        let village = |code: &str, cadres: Vec<Line>| Village {
            unit_code: code.into(),
            name: code.into(),
            totals: Totals::default(),
            cadres,
        };
        let mut bulletin = Bulletin {
            unit_code: "c".into(),
            unit_name: "县".into(),
            level: "county".into(),
            month: "2026-11".into(),
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            complete: true,
            totals: Totals::default(),
            townships: vec![Township {
                unit_code: "t".into(),
                name: "镇".into(),
                totals: Totals::default(),
                villages: vec![
                    village("a", vec![line("p1", true, 2), line("p2", false, 1)]),
                    village("b", vec![line("p1", false, 4)]),
                    village("empty", vec![]),
                ],
            }],
        };
        bulletin.total();
        let t = &bulletin.totals;
        assert_eq!(
            (t.lines, t.cadres, t.compliant, t.not_compliant),
            (3, 2, 1, 2)
        );
        assert_eq!(t.visits, 7);
        assert_eq!(bulletin.townships[0].villages[2].totals, Totals::default());
        let rows = table(&bulletin);
        // Header, three lines, the township's 合计, the 总计.
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        assert_eq!(rows[2][5], Cell::Text("在村天数不足（3/5）".into()));
        assert_eq!(rows[2][9], Cell::Empty);
        assert_eq!(rows[4][1], Cell::Text("合计".into()));
        assert_eq!(rows[5][0], Cell::Text("总计".into()));
        assert_eq!(rows[5][4], Cell::Text("达标1/3".into()));
        assert_eq!(rows[5][12], Cell::Number(7));
    }
}
