// onnxruntime's own run-time messages, put in fviz's words: what did not fit and what to pass instead.

/** One line explaining an onnxruntime run failure, or undefined when the message is not one fviz knows. */
export function explainRunError(msg: string): string | undefined {
  const dims = /invalid dimensions for input: (\S+) for the following indices\s*index: (\d+) Got: (\d+) Expected: (\d+)/i.exec(msg);
  if (dims) {
    const [, name, axis, got, want] = dims;
    const a = Number(axis);
    const fix =
      a === 0
        ? `the model takes a batch of ${want}: pass --batch ${want}`
        : `the image size does not match the model's input: pass --size ${want} (or correct the size in the model card)`;
    return `input '${name}' has size ${got} on axis ${a} where the model expects ${want}; ${fix}`;
  }
  const rank = /invalid rank for input: (\S+) Got: (\d+) Expected: (\d+)/i.exec(msg);
  if (rank) return `input '${rank[1]}' has ${rank[2]} dims where the model expects ${rank[3]}; fviz feeds N x 3 x H x W images, so the model's input must be 4-D`;
  const type = /Unexpected input data type\. Actual: \((\S+)\) , expected: \((\S+)\)/i.exec(msg);
  if (type) return `an input is ${type[1]} where the model expects ${type[2]}; fviz feeds float32 images, so the model's image input must be float32`;
  return undefined;
}
