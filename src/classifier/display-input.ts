// The name of the input fviz adds in front of a classifier: RGB in [0, 1], N x 3 x H x W. Its own file so
// that code bundled into the live page can name it without loading card.ts (which reads files).
export const DISPLAY_INPUT = 'image';
