/** Small SVG charts (no library): bars by severity, bars by department, the daily trend. */
import { RISK_LEVELS, type FindingsSummaryResponse, type Risk } from '@accesslens/shared';
import { t } from '../../utils/i18n';

export const SEVERITY_COLOUR: Record<Risk, string> = { low: '#5b6478', medium: '#a15c00', high: '#c2410c', critical: '#b42318' };

export function SeverityBars({ summary }: { summary: FindingsSummaryResponse }) {
  const max = Math.max(1, ...RISK_LEVELS.map((r) => summary.bySeverity[r]));
  const w = 260;
  return (
    <figure class="chart" data-testid="al-chart-severity">
      <figcaption>{t('console.chart.bySeverity')}</figcaption>
      <svg width={w} height={RISK_LEVELS.length * 24} role="img" aria-label={RISK_LEVELS.map((r) => `${t(`risk.${r}`)}: ${summary.bySeverity[r]}`).join(', ')}>
        {[...RISK_LEVELS].reverse().map((r, i) => {
          const n = summary.bySeverity[r];
          const len = Math.round(((w - 110) * n) / max);
          return (
            <g key={r} transform={`translate(0 ${i * 24})`}>
              <text x="0" y="15" font-size="12" fill="#1d2433">
                {t(`risk.${r}`)}
              </text>
              <rect x="70" y="4" width={Math.max(len, n > 0 ? 2 : 0)} height="14" rx="2" fill={SEVERITY_COLOUR[r]} />
              <text x={74 + len} y="15" font-size="12" fill="#1d2433">
                {n}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function DepartmentBars({ summary, onPick }: { summary: FindingsSummaryResponse; onPick: (department: string) => void }) {
  const rows = summary.byDepartment.slice(0, 8);
  const max = Math.max(1, ...rows.map((d) => d.total));
  const w = 320;
  if (rows.length === 0) return null;
  return (
    <figure class="chart" data-testid="al-chart-department">
      <figcaption>{t('console.chart.byDepartment')}</figcaption>
      <svg width={w} height={rows.length * 24} role="img" aria-label={rows.map((d) => `${d.department}: ${d.total}`).join(', ')}>
        {rows.map((d, i) => {
          let x = 100;
          return (
            <g key={d.department} transform={`translate(0 ${i * 24})`} class="chart-row" onClick={() => onPick(d.department)}>
              <title>{`${d.department}: ${d.total}`}</title>
              <text x="0" y="15" font-size="12" fill="#1d2433">
                {d.department.length > 14 ? `${d.department.slice(0, 13)}…` : d.department}
              </text>
              {RISK_LEVELS.map((r) => {
                const len = Math.round(((w - 140) * d.bySeverity[r]) / max);
                const rect = <rect key={r} x={x} y="4" width={len} height="14" fill={SEVERITY_COLOUR[r]} />;
                x += len;
                return rect;
              })}
              <text x={x + 4} y="15" font-size="12" fill="#1d2433">
                {d.total}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function Trend({ summary }: { summary: FindingsSummaryResponse }) {
  const points = summary.trend;
  const w = 300;
  const h = 90;
  const max = Math.max(1, ...points.map((p) => p.total));
  const step = points.length > 1 ? (w - 20) / (points.length - 1) : 0;
  const xy = points.map((p, i) => [10 + i * step, h - 14 - ((h - 28) * p.total) / max] as const);
  return (
    <figure class="chart" data-testid="al-chart-trend">
      <figcaption>{t('console.chart.trend', { n: points.length })}</figcaption>
      <svg width={w} height={h} role="img" aria-label={points.map((p) => `${p.day}: ${p.total}`).join(', ')}>
        <line x1="10" y1={h - 14} x2={w - 10} y2={h - 14} stroke="#d5dae3" />
        {xy.length > 1 && <polyline points={xy.map(([x, y]) => `${x},${y}`).join(' ')} fill="none" stroke="#1b5fd1" stroke-width="2" />}
        {xy.map(([x, y], i) => (
          <circle key={points[i]!.day} cx={x} cy={y} r="3" fill="#1b5fd1">
            <title>{`${points[i]!.day}: ${points[i]!.total}`}</title>
          </circle>
        ))}
        {points.length > 0 && (
          <>
            <text x="10" y={h - 2} font-size="10" fill="#5b6478">
              {points[0]!.day}
            </text>
            <text x={w - 10} y={h - 2} font-size="10" fill="#5b6478" text-anchor="end">
              {points[points.length - 1]!.day}
            </text>
          </>
        )}
      </svg>
    </figure>
  );
}
