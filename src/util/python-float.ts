/**
 * Python's repr() of a float, which is what docker-compose writes when it turns a number into a
 * string (labels, build args, sysctls, driver options) and into JSON (config hashes): the shortest
 * digits that read back the same, in fixed notation for exponents from -4 to 15 with at least one
 * decimal ("1.0", "0.0001"), otherwise in exponent notation with at least two exponent digits
 * ("1e-05", "1.5e+16"); "-0.0", "inf", "-inf", "nan".
 */
export function pythonFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  // toExponential() with no argument gives the shortest round-tripping digits, like repr.
  const [mantissa = '', exp = '0'] = n.toExponential().split('e');
  const e = Number(exp);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  if (e >= -4 && e < 16) {
    let text: string;
    if (e >= digits.length - 1) text = `${digits}${'0'.repeat(e - digits.length + 1)}.0`;
    else if (e >= 0) text = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
    else text = `0.${'0'.repeat(-e - 1)}${digits}`;
    return negative ? `-${text}` : text;
  }
  const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  const sign = e < 0 ? '-' : '+';
  return `${negative ? '-' : ''}${m}e${sign}${String(Math.abs(e)).padStart(2, '0')}`;
}
