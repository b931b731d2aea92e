/** The same tree of keys as `T` with every leaf a string: the type of a translation of `T`. */
export type DeepStrings<T> = { [K in keyof T]: T[K] extends string ? string : DeepStrings<T[K]> };
