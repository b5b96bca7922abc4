/**
 * The conversion report: every pump.conf setting the converter looked at, and what became of it —
 * mapped (same behaviour), approximated (nearest behaviour, with the difference said), or dropped (no
 * counterpart, with the reason). Printed on stderr by `convert`; values of secrets are never shown.
 */

/** What became of one setting. */
export type Outcome = 'mapped' | 'approximated' | 'dropped';

/** One line of the report. */
export interface ReportEntry {
  readonly outcome: Outcome;
  /** Where the setting came from: a pump.conf path (`pumps.prom.meta.path`) or an env var. */
  readonly source: string;
  /** Where it went (`receivers::tyk_redis.chunk_size`) or what happens instead, and why. */
  readonly note: string;
}

/** Collects report entries in the order the converter met them. */
export class Report {
  readonly entries: ReportEntry[] = [];

  /** Same behaviour under another name. */
  mapped(source: string, note: string): void {
    this.entries.push({ outcome: 'mapped', source, note });
  }

  /** The nearest behaviour; `note` says the difference. */
  approximated(source: string, note: string): void {
    this.entries.push({ outcome: 'approximated', source, note });
  }

  /** No counterpart; `note` says why and what to do. */
  dropped(source: string, note: string): void {
    this.entries.push({ outcome: 'dropped', source, note });
  }

  /** The report as text: three sections, one line per entry. */
  format(): string {
    const out: string[] = [];
    for (const outcome of ['mapped', 'approximated', 'dropped'] as const) {
      const list = this.entries.filter((e) => e.outcome === outcome);
      out.push(`${outcome} (${list.length}):`);
      for (const e of list) out.push(`  ${e.source}: ${e.note}`);
    }
    return `${out.join('\n')}\n`;
  }
}
