/**
 * Freezes a configuration tree. Buffers (key bytes) cannot be frozen by JavaScript and are
 * left as they are; nothing in spagate writes to them.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || Object.isFrozen(value))
    return value;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return Object.freeze(value);
}
