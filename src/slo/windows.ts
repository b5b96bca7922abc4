/**
 * SLO window math shared by the Prometheus rules generator and the in-process `slo` processor, so both
 * paths alert on exactly the same conditions: the SLI windows, the Google SRE workbook multi-window
 * multi-burn-rate alert table (scaled to the SLO period), and Prometheus-style window labels.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** SLO periods (the `window` of an SLO) we support, as written in the config. */
export const SLO_PERIODS = ['7d', '28d', '30d', '90d'] as const;

/** One of {@link SLO_PERIODS}. */
export type SloPeriod = (typeof SLO_PERIODS)[number];

/** Length of an SLO period in whole days. */
export function periodDays(period: SloPeriod): number {
  return Number(period.slice(0, -1));
}

/** The fixed SLI windows, shortest first (the full SLO period is added per SLO). */
export const SLI_WINDOWS = [
  { label: '5m', ms: 5 * MINUTE_MS },
  { label: '30m', ms: 30 * MINUTE_MS },
  { label: '1h', ms: HOUR_MS },
  { label: '2h', ms: 2 * HOUR_MS },
  { label: '6h', ms: 6 * HOUR_MS },
  { label: '1d', ms: DAY_MS },
  { label: '3d', ms: 3 * DAY_MS },
] as const;

/** The label of one fixed SLI window. */
export type SliWindowLabel = (typeof SLI_WINDOWS)[number]['label'];

/** A window: its Prometheus-style label and length. */
export interface SloWindow {
  /** `5m`, `1h`, …, and for the period `30d`, `4w` (28d), `1w` (7d), `90d`: Prometheus duration syntax. */
  readonly label: string;
  readonly ms: number;
}

/**
 * Formats milliseconds the way Prometheus (`model.Duration.String`) and therefore Sloth do: years and weeks
 * only when exact (`28d` → `4w`, `30d` → `30d`, `7d` → `1w`), then days, hours, minutes, seconds.
 */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  const units: readonly [string, number, boolean][] = [
    ['y', 365 * DAY_MS, true], ['w', 7 * DAY_MS, true], ['d', DAY_MS, false], ['h', HOUR_MS, false],
    ['m', MINUTE_MS, false], ['s', 1000, false], ['ms', 1, false],
  ];
  for (const [unit, size, exact] of units) {
    if (exact && rest % size !== 0) continue;
    const v = Math.floor(rest / size);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * size;
    }
  }
  return out;
}

/** The full-period window of an SLO (`30d`, `4w`, …). */
export function periodWindow(period: SloPeriod): SloWindow {
  const ms = periodDays(period) * DAY_MS;
  return { label: promDuration(ms), ms };
}

/** Every window of an SLO: the fixed SLI windows, then the full period. */
export function sloWindows(period: SloPeriod): readonly SloWindow[] {
  return [...SLI_WINDOWS, periodWindow(period)];
}

/** Alert severities, as in Sloth (`sloth_severity`). */
export type Severity = 'page' | 'ticket';

/** One multi-window burn-rate condition: the error ratio must exceed `factor × budget` over both windows. */
export interface BurnRateCondition {
  readonly severity: Severity;
  readonly long: SliWindowLabel;
  readonly short: SliWindowLabel;
  /** Share of the period's error budget that burning at this rate for the long window consumes, in percent. */
  readonly budgetPercent: number;
}

/**
 * The Google SRE workbook table (chapter "Alerting on SLOs", table 5-8) as Sloth uses it. For a 30-day
 * period the factors are 14.4, 6, 3 and 1; for other periods they are scaled so that each condition still
 * means the same share of the budget consumed (28d: 13.44, 5.6, 2.8, 0.9333…).
 */
export const BURN_RATE_CONDITIONS: readonly BurnRateCondition[] = [
  { severity: 'page', long: '1h', short: '5m', budgetPercent: 2 },
  { severity: 'page', long: '6h', short: '30m', budgetPercent: 5 },
  { severity: 'ticket', long: '1d', short: '2h', budgetPercent: 10 },
  { severity: 'ticket', long: '3d', short: '6h', budgetPercent: 10 },
];

/** Rounds to 12 significant digits, so `0.02 × 720` prints as `14.4` and `1 − 0.999` as `0.001`. */
export function round12(x: number): number {
  return Number(x.toPrecision(12));
}

/** Length of a fixed SLI window in ms. */
export function sliWindowMs(label: SliWindowLabel): number {
  return (SLI_WINDOWS.find((w) => w.label === label) as SloWindow).ms;
}

/** The burn-rate factor of a condition for an SLO period: budget share × period / long window. */
export function burnFactor(condition: BurnRateCondition, period: SloPeriod): number {
  return round12(((condition.budgetPercent / 100) * periodDays(period) * DAY_MS) / sliWindowMs(condition.long));
}

/** The objective as a ratio (`99.9` → `0.999`), rounded to 12 significant digits. */
export function objectiveRatio(objectivePercent: number): number {
  return round12(objectivePercent / 100);
}

/** The error budget as a ratio (`99.9` → `0.001`), rounded to 12 significant digits. */
export function errorBudget(objectivePercent: number): number {
  return round12(1 - objectiveRatio(objectivePercent));
}

/**
 * Whether each severity fires, given the error ratio of every fixed SLI window — the same expression the
 * generated alert rules evaluate: `ratio(short) > f×budget and ratio(long) > f×budget` for any condition of
 * the severity. A missing ratio (no traffic) never fires.
 */
export function alertState(
  ratios: Readonly<Partial<Record<SliWindowLabel, number>>>,
  budget: number,
  period: SloPeriod,
): Record<Severity, boolean> {
  const out: Record<Severity, boolean> = { page: false, ticket: false };
  for (const c of BURN_RATE_CONDITIONS) {
    const threshold = burnFactor(c, period) * budget;
    const s = ratios[c.short];
    const l = ratios[c.long];
    if (s !== undefined && l !== undefined && s > threshold && l > threshold) out[c.severity] = true;
  }
  return out;
}
