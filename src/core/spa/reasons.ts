/**
 * Stable reason codes for packets the codec rejects. They appear in logs, events, the
 * dashboard and `spagate decode`; never rename one, only add.
 */
export const CODEC_REASONS = [
  'too_short',
  'too_long',
  'bad_base64',
  'prefix_not_allowed',
  'not_rijndael',
  'bad_key',
  'hmac_mismatch',
  'bad_ciphertext_length',
  'decrypt_failed',
  'bad_padding',
  'bad_plaintext_length',
  'bad_plaintext_chars',
  'too_few_fields',
  'too_many_fields',
  'bad_digest_length',
  'bad_digest',
  'bad_field_random',
  'bad_field_username',
  'bad_field_timestamp',
  'bad_field_version',
  'bad_field_type',
  'bad_field_message',
  'bad_allow_ip',
  'bad_field_nat',
  'bad_field_server_auth',
  'bad_field_timeout',
  'timestamp_out_of_window',
  'internal',
] as const;

export type CodecReason = (typeof CODEC_REASONS)[number];

export const CODEC_REASON_DESCRIPTIONS: Readonly<Record<CodecReason, string>> = Object.freeze({
  too_short: 'packet shorter than 140 characters, the smallest a real client sends',
  too_long: 'packet of 1500 characters or more',
  bad_base64:
    'character outside the standard base64 alphabet, or a base64 length or final character no encoder produces',
  prefix_not_allowed: 'packet starts with the "U2FsdGVkX1" prefix clients strip (a re-prefixed replay)',
  not_rijndael: 'first character is not 8, 9, + or /, so it cannot be a Rijndael SPA packet',
  bad_key: 'the stanza key cannot be used (empty, or longer than 32 bytes)',
  hmac_mismatch: 'HMAC does not verify: wrong HMAC key or type, no HMAC, or a tampered packet',
  bad_ciphertext_length: 'ciphertext is not a whole number of 16-byte blocks after the salt',
  decrypt_failed: 'plaintext does not start with 16 digits and a colon: wrong key or encryption mode',
  bad_padding: 'PKCS#7 padding after decryption is invalid',
  bad_plaintext_length: 'decrypted plaintext is not 36..1499 bytes long',
  bad_plaintext_chars: 'decrypted plaintext contains a byte that is not printable ASCII',
  too_few_fields: 'plaintext has fewer colon-separated fields than any message type needs',
  too_many_fields: 'plaintext has more fields than its message type allows',
  bad_digest_length: 'inner digest length matches no digest type',
  bad_digest: 'inner digest does not match the message',
  bad_field_random: 'random value is not 16 digits',
  bad_field_username: 'username is empty, too long, not base64, or has a forbidden character',
  bad_field_timestamp: 'timestamp is not 1..12 digits within 32 bits',
  bad_field_version: 'version field is empty or longer than 8 characters',
  bad_field_type: 'message type is not 0..6',
  bad_field_message: 'message is not base64 or breaks the access/command message grammar',
  bad_allow_ip: 'allow IP in the message is not a canonical dotted-decimal IPv4 address',
  bad_field_nat: 'NAT access field is missing, not base64, or not host,port',
  bad_field_server_auth: 'server auth field is empty, not base64 or not printable',
  bad_field_timeout: 'client timeout is missing, not digits, or above 65536',
  timestamp_out_of_window: 'packet timestamp is further from the clock than the allowed packet age',
  internal: 'unexpected internal error while decoding (a spagate bug); the packet is rejected',
});

export function isCodecReason(s: string): s is CodecReason {
  return (CODEC_REASONS as readonly string[]).includes(s);
}
