// A network's architecture as the trainers take it: a preset's name, a configuration of its own, or
// nothing for the default preset.
import { FvizError } from '../errors.ts';

/** `arch` as a configuration from `presets`; `what` names the kind in the error for an unknown name. */
export function resolvePreset<C extends object>(presets: Record<string, C>, arch: string | C | undefined, fallback: string, what: string): C {
  if (arch === undefined) return presets[fallback]!;
  if (typeof arch !== 'string') return arch;
  const cfg = presets[arch];
  if (!cfg) throw new FvizError(`unknown ${what} '${arch}'; presets: ${Object.keys(presets).join(', ')}`, { subject: arch });
  return cfg;
}
