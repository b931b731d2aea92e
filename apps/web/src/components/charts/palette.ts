/** Colours of chart series and slices, distinct in light and dark themes. */
export const chartPalette = [
  '#1668dc',
  '#13a8a8',
  '#722ed1',
  '#fa8c16',
  '#eb2f96',
  '#52c41a',
  '#faad14',
  '#2f54eb',
  '#a0d911',
  '#8c8c8c',
] as const;

export const paletteColor = (index: number): string => chartPalette[index % chartPalette.length] ?? '#8c8c8c';
