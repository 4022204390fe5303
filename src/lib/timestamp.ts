const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

function daysInMonth (year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/**
 * The sortable instant key of a `ts` string, or null when it is not a real UTC instant in our format.
 * The key pads the fraction to nine digits, so plain string order is instant order
 * ("10:00:00Z" → "…10:00:00.000000000Z" sorts before "10:00:00.5Z" → "…10:00:00.500000000Z").
 */
export function instantKey (ts: string): string | null {
  const m = TIMESTAMP.exec(ts)
  if (m === null) return null
  const [, y, mo, d, h, mi, s, fraction = ''] = m as unknown as string[]
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${fraction.padEnd(9, '0')}Z`
}

export const isTimestamp = (ts: string): boolean => instantKey(ts) !== null
