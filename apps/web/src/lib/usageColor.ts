import { usageLevel } from './format.ts';

/** Colour of a usage bar: green, orange from 75 %, red from 90 %. */
export function usageColor(
  percent: number,
  token: { colorSuccess: string; colorWarning: string; colorError: string },
) {
  switch (usageLevel(percent)) {
    case 'ok':
      return token.colorSuccess;
    case 'warning':
      return token.colorWarning;
    case 'critical':
      return token.colorError;
  }
}
