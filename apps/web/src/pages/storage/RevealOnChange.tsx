import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';

/**
 * Scrolls its content into view each time `trigger` changes to a non-null value, so a result
 * shown at the bottom of a long form (a connection test) is not missed.
 */
export function RevealOnChange({ trigger, children }: { trigger: unknown; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (trigger !== null && trigger !== undefined)
      ref.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [trigger]);
  return <div ref={ref}>{children}</div>;
}
