// A minimal stand-in for the "events" package, which @azure/storage-blob's
// batch module imports and which exists only as CommonJS: the CORS test page
// never sends a batch, it only needs the module to link.
export class EventEmitter {
  constructor() {
    this.listeners = new Map();
  }
  on(name, fn) {
    const l = this.listeners.get(name) || [];
    l.push(fn);
    this.listeners.set(name, l);
    return this;
  }
  emit(name, ...args) {
    for (const fn of this.listeners.get(name) || []) fn(...args);
    return this.listeners.has(name);
  }
}
export default EventEmitter;
