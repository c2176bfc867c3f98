import { describe, expect, it } from 'vitest';
import { createEmitter } from '../src/emitter.js';

type Events = { tick: (n: number) => void };

describe('createEmitter', () => {
  it('on() returns a function that removes the listener', () => {
    const events = createEmitter<Events>();
    const heard: number[] = [];
    const off = events.on('tick', (n) => heard.push(n));
    events.emit('tick', 1);
    off();
    events.emit('tick', 2);
    expect(heard).toEqual([1]);
  });

  it('once() hears one event; its remover works before then', () => {
    const events = createEmitter<Events>();
    const heard: number[] = [];
    events.once('tick', (n) => heard.push(n));
    const off = events.once('tick', (n) => heard.push(n * 10));
    off();
    events.emit('tick', 1);
    events.emit('tick', 2);
    expect(heard).toEqual([1]);
  });

  it('clear() drops every listener', () => {
    const events = createEmitter<Events>();
    const heard: number[] = [];
    events.on('tick', (n) => heard.push(n));
    events.clear();
    events.emit('tick', 1);
    expect(heard).toEqual([]);
  });
});
