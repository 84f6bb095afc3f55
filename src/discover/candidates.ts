/** A string proposed as a trigger, with the signals that proposed it and how strongly. */
export interface Candidate {
  text: string;
  signals: string[];
  score: number;
}
