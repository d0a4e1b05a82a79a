/** The longest domain name in text form, without the final dot (RFC 1035: 255 octets on the wire). */
export const MAX_DOMAIN_NAME_LENGTH = 253;
/** The longest label (RFC 1035). */
export const MAX_LABEL_LENGTH = 63;

/** A host name label: letters, digits and hyphens, neither first nor last a hyphen (RFC 1123). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const ALL_DIGITS = /^[0-9]+$/;

/**
 * Parses a destination's domain name strictly: host name syntax (RFC 1123 labels of letters, digits
 * and hyphens, 1 to 63 characters each, 253 in all), at least two labels (the old image required a
 * dot), an optional final dot, and a last label that is not all digits (so `300.1.2.3` is neither an
 * address nor a name).
 *
 * @param text the name as written
 * @returns the name in canonical form (lower case, no final dot), or undefined when it is not one
 * @example parseDomainName('API.Example.com.') // 'api.example.com'
 */
export function parseDomainName(text: string): string | undefined {
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();
  if (name.length === 0 || name.length > MAX_DOMAIN_NAME_LENGTH) return undefined;
  const labels = name.split('.');
  if (labels.length < 2) return undefined;
  for (const label of labels) {
    if (label.length > MAX_LABEL_LENGTH || !LABEL.test(label)) return undefined;
  }
  if (ALL_DIGITS.test(labels[labels.length - 1] ?? '')) return undefined;
  return name;
}
