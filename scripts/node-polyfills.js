// Polyfills preloaded (node --require) by the gitlab-ci-local wrapper that
// scripts/install-tools writes.  gitlab-ci-local 4.x uses the ES2025 Set methods,
// which Node 22+ has and Node 20 lacks.  Each method is defined only when missing,
// following the proposal's semantics: the argument is "set-like" (size, has, keys).
"use strict";

function setLike(other) {
  if (other === null || typeof other !== "object") {
    throw new TypeError("Set method argument must be a set-like object");
  }
  const size = Number(other.size);
  if (Number.isNaN(size)) throw new TypeError("set-like object must have a numeric size");
  if (typeof other.has !== "function") throw new TypeError("set-like object must have has()");
  if (typeof other.keys !== "function") throw new TypeError("set-like object must have keys()");
  return {
    size,
    has: (v) => Boolean(other.has(v)),
    *keys() {
      const it = other.keys();
      for (let r = it.next(); !r.done; r = it.next()) yield r.value;
    },
  };
}

const methods = {
  union(other) {
    const o = setLike(other);
    const result = new Set(this);
    for (const v of o.keys()) result.add(v);
    return result;
  },
  intersection(other) {
    const o = setLike(other);
    const result = new Set();
    if (this.size <= o.size) {
      for (const v of this) if (o.has(v)) result.add(v);
    } else {
      for (const v of o.keys()) if (this.has(v)) result.add(v);
    }
    return result;
  },
  difference(other) {
    const o = setLike(other);
    const result = new Set(this);
    if (this.size <= o.size) {
      for (const v of this) if (o.has(v)) result.delete(v);
    } else {
      for (const v of o.keys()) result.delete(v);
    }
    return result;
  },
  symmetricDifference(other) {
    const o = setLike(other);
    const result = new Set(this);
    for (const v of o.keys()) {
      if (this.has(v)) result.delete(v);
      else result.add(v);
    }
    return result;
  },
  isSubsetOf(other) {
    const o = setLike(other);
    if (this.size > o.size) return false;
    for (const v of this) if (!o.has(v)) return false;
    return true;
  },
  isSupersetOf(other) {
    const o = setLike(other);
    if (this.size < o.size) return false;
    for (const v of o.keys()) if (!this.has(v)) return false;
    return true;
  },
  isDisjointFrom(other) {
    const o = setLike(other);
    if (this.size <= o.size) {
      for (const v of this) if (o.has(v)) return false;
    } else {
      for (const v of o.keys()) if (this.has(v)) return false;
    }
    return true;
  },
};

for (const [name, fn] of Object.entries(methods)) {
  if (typeof Set.prototype[name] !== "function") {
    Object.defineProperty(Set.prototype, name, {
      value: fn,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}
