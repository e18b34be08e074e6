// TensorFlow.js, loaded on first use only: tfjs-core with its pure-JS CPU backend (no tfjs-node), and
// tfjs-layers. Other commands never pay for the import.
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

export interface Tfjs {
  tf: typeof TfCore;
  tfl: typeof TfLayers;
}

let loaded: Promise<Tfjs> | undefined;

export function loadTfjs(): Promise<Tfjs> {
  loaded ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const tfl = await import('@tensorflow/tfjs-layers');
    // PROD silences the CPU backend's banner (it would land in --json output); it changes no arithmetic.
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    return { tf, tfl };
  })();
  return loaded;
}
