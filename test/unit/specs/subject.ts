/** A port under test, opened fresh for each test, and how to let it go. */
export interface Subject<Port> {
  port: Port;
  cleanup?(): Promise<void> | void;
}

export type OpenSubject<Port> = () => Promise<Subject<Port>>;
