/** The transfer syntaxes the writer can produce, by short name (as used in the CLI and the demo). */
export const WRITE_SYNTAXES = {
  'explicit-le': { uid: '1.2.840.10008.1.2.1', encapsulated: false, lossy: false },
  'implicit-le': { uid: '1.2.840.10008.1.2', encapsulated: false, lossy: false },
  'explicit-be': { uid: '1.2.840.10008.1.2.2', encapsulated: false, lossy: false },
  deflated: { uid: '1.2.840.10008.1.2.1.99', encapsulated: false, lossy: false },
  rle: { uid: '1.2.840.10008.1.2.5', encapsulated: true, lossy: false },
  'jpeg-ls-lossless': { uid: '1.2.840.10008.1.2.4.80', encapsulated: true, lossy: false },
  'jpeg-ls-near-lossless': { uid: '1.2.840.10008.1.2.4.81', encapsulated: true, lossy: true },
  'j2k-lossless': { uid: '1.2.840.10008.1.2.4.90', encapsulated: true, lossy: false },
  'j2k-lossy': { uid: '1.2.840.10008.1.2.4.91', encapsulated: true, lossy: true },
  'jpeg-baseline': { uid: '1.2.840.10008.1.2.4.50', encapsulated: true, lossy: true }
} as const

export type WriteSyntax = keyof typeof WRITE_SYNTAXES
export const WRITE_SYNTAX_NAMES = Object.keys(WRITE_SYNTAXES) as WriteSyntax[]

/** Value of (0028,2114) Lossy Image Compression Method for the lossy syntaxes. */
export const LOSSY_METHOD: Partial<Record<WriteSyntax, string>> = {
  'jpeg-ls-near-lossless': 'ISO_14495_1',
  'j2k-lossy': 'ISO_15444_1',
  'jpeg-baseline': 'ISO_10918_1'
}

export function transferSyntaxUid(syntax: WriteSyntax): string {
  return WRITE_SYNTAXES[syntax].uid
}
