import type { Post } from '../../core/model';

/**
 * Deterministic demo posts: post i is the same on every machine and every run, whatever batch it is
 * generated in (each post draws from its own RNG seeded by i). A hand-rolled RNG and vocabulary keep
 * generation fast enough to seed millions of rows (faker is ~10× slower per post).
 */

/** The newest demo post is at most this instant; posts spread over the two years before it. */
export const DEMO_END = Date.UTC(2026, 0, 1, 0, 0, 0);
const TWO_YEARS_MS = 730 * 24 * 3600 * 1000;

/** mulberry32: small, fast, good enough for demo data. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spreads consecutive indexes over unrelated seeds. */
function seedOf(index: number): number {
  let h = Math.imul(index ^ 0x5bd1e995, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const chance = (rng: Rng, p: number): boolean => rng() < p;
const intBetween = (rng: Rng, low: number, high: number): number => low + Math.floor(rng() * (high - low + 1));

const FIRST_NAMES = [
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'yusuf',
  'zoe',
  'amara',
  'bruno',
  'chen',
  'dmitri',
  'elena',
  'fatima',
  'gustavo',
  'hana',
  'ingrid',
  'jamal',
  'kenji',
  'lucia',
  'mateo',
  'nadia',
  'omar',
  'priya',
  'quentin',
  'rosa',
  'sanjay',
  'tomas',
  'uma',
  'valentina',
  'wei',
  'ximena',
  'yara',
  'zanele',
] as const;
const HANDLE_SUFFIXES = ['', '_dev', '_writes', '.codes', '_travels', '_cooks', '.photo', '_runs', '99', '_io', '_k', '_m'] as const;

/** ~200 distinct users; `alice` and `bob` are the local stack's seeded members and own a share of posts. */
export const DEMO_USERS: readonly string[] = (() => {
  const rng = mulberry32(2024);
  const users = new Set<string>(['alice', 'bob']);
  while (users.size < 200) users.add(`${pick(rng, FIRST_NAMES)}${pick(rng, HANDLE_SUFFIXES)}`);
  return [...users];
})();

interface Topic {
  tag: string;
  nouns: readonly string[];
  activities: readonly string[];
  places: readonly string[];
}

const TOPICS: readonly Topic[] = [
  {
    tag: 'coffee',
    nouns: ['espresso', 'pour-over', 'cold brew', 'flat white', 'grinder', 'single-origin beans'],
    activities: ['brewing at home', 'dialing in my grinder', 'trying a new roaster'],
    places: ['at the corner café', 'in the kitchen', 'at the roastery downtown'],
  },
  {
    tag: 'travel',
    nouns: ['train ticket', 'night market', 'hostel', 'window seat', 'museum pass', 'old town'],
    activities: ['backpacking through Portugal', 'planning a road trip', 'packing light'],
    places: ['in Lisbon', 'at the airport', 'somewhere between Kyoto and Osaka', 'in a tiny mountain village'],
  },
  {
    tag: 'cooking',
    nouns: ['sourdough starter', 'cast iron pan', 'risotto', 'curry', 'tomato sauce', 'dumplings'],
    activities: ['meal prepping', 'baking bread', 'learning knife skills'],
    places: ['in the kitchen', 'at the farmers market', "at my grandmother's house"],
  },
  {
    tag: 'running',
    nouns: ['half marathon', 'tempo run', 'new shoes', 'personal best', 'interval session', 'trail loop'],
    activities: ['training for a marathon', 'running before work', 'recovering from a sprain'],
    places: ['along the river', 'in the park', 'on the track'],
  },
  {
    tag: 'javascript',
    nouns: ['bundler config', 'async iterator', 'type error', 'test suite', 'build pipeline', 'memory leak'],
    activities: ['refactoring a legacy codebase', 'migrating to ES modules', 'debugging a flaky test'],
    places: ['at work', 'on the train', 'during the hackathon'],
  },
  {
    tag: 'aws',
    nouns: ['Lambda function', 'Step Functions workflow', 'S3 bucket', 'IAM policy', 'cold start', 'CloudFormation stack'],
    activities: ['cutting our cloud bill', 'setting up least-privilege IAM', 'moving a cron job to Step Functions'],
    places: ['in production', 'in the staging account', 'during the incident review'],
  },
  {
    tag: 'gardening',
    nouns: ['tomato plants', 'compost heap', 'raised bed', 'basil', 'seedlings', 'apple tree'],
    activities: ['repotting everything', 'fighting aphids', 'saving seeds'],
    places: ['in the backyard', 'on the balcony', 'at the community garden'],
  },
  {
    tag: 'music',
    nouns: ['vinyl record', 'jazz trio', 'new album', 'guitar pedal', 'setlist', 'synthesizer'],
    activities: ['learning the piano', 'practicing scales', 'going to live shows'],
    places: ['at the concert hall', 'in a tiny bar', 'in my bedroom studio'],
  },
  {
    tag: 'books',
    nouns: ['novel', 'short story collection', 'library card', 'audiobook', 'book club pick', 'paperback'],
    activities: ['reading before bed', 'finishing my reading challenge', 'rereading old favourites'],
    places: ['at the library', 'in the bookshop', 'on the bus'],
  },
  {
    tag: 'photography',
    nouns: ['film camera', 'golden hour', 'prime lens', 'street portrait', 'long exposure', 'darkroom print'],
    activities: ['shooting on film', "editing last week's photos", 'learning manual mode'],
    places: ['by the harbour', 'in the old town', 'at sunrise on the hill'],
  },
  {
    tag: 'gaming',
    nouns: ['speedrun', 'co-op campaign', 'boss fight', 'indie game', 'controller', 'save file'],
    activities: ['replaying a classic', 'streaming with friends', 'hunting achievements'],
    places: ['on the couch', 'at the LAN party', 'online'],
  },
  {
    tag: 'fitness',
    nouns: ['deadlift', 'yoga class', 'kettlebell', 'rest day', 'stretching routine', 'climbing session'],
    activities: ['building a habit', 'going to the gym at 6am', 'tracking my progress'],
    places: ['at the gym', 'at the climbing wall', 'in the living room'],
  },
  {
    tag: 'pets',
    nouns: ['puppy', 'old cat', 'dog park', 'vet visit', 'new leash', 'fish tank'],
    activities: ['training the puppy', 'fostering kittens', 'walking the dog'],
    places: ['at the dog park', 'on the sofa', 'at the shelter'],
  },
  {
    tag: 'movies',
    nouns: ['documentary', "director's cut", 'film festival', 'sequel', 'soundtrack', 'matinee'],
    activities: ['watching the classics', 'catching up on the festival lineup', 'rewatching the trilogy'],
    places: ['at the cinema', 'at home', 'at the open-air screening'],
  },
  {
    tag: 'design',
    nouns: ['design system', 'typeface', 'wireframe', 'colour palette', 'usability test', 'icon set'],
    activities: ['redesigning the onboarding', 'running user interviews', 'cleaning up the component library'],
    places: ['in the studio', 'at the design review', 'at the meetup'],
  },
  {
    tag: 'startups',
    nouns: ['pitch deck', 'first customer', 'seed round', 'roadmap', 'launch', 'churn metric'],
    activities: ['talking to customers', 'hiring our first engineer', 'shipping the beta'],
    places: ['at the incubator', 'in a coffee shop office', 'at demo day'],
  },
] as const;

const SIDE_TAGS = ['weekend', 'question', 'til', 'throwback', 'update', 'advice', 'review', 'beginner'] as const;
const ADJECTIVES = [
  'great',
  'surprisingly good',
  'terrible',
  'underrated',
  'brilliant',
  'frustrating',
  'lovely',
  'weird',
  'solid',
  'overpriced',
] as const;
const FEELINGS = [
  'pretty happy with it',
  'exhausted but proud',
  'not convinced yet',
  'honestly thrilled',
  'a little nervous',
  'still figuring it out',
] as const;
const TIMES = ['this morning', 'last night', 'yesterday', 'over the weekend', 'after lunch', 'on Sunday', 'today'] as const;
const RELATIVES = ['grandmother', 'dad', 'mum', 'old boss', 'first coach', 'neighbour'] as const;
const SAYINGS = [
  'measure twice, cut once',
  'slow is smooth, smooth is fast',
  'done is better than perfect',
  'you get what you pay for',
  'the best time to start was yesterday',
] as const;

function sentence(rng: Rng, topic: Topic): string {
  const noun = pick(rng, topic.nouns);
  const activity = pick(rng, topic.activities);
  const place = pick(rng, topic.places);
  const adjective = pick(rng, ADJECTIVES);
  const time = pick(rng, TIMES);
  switch (intBetween(rng, 0, 11)) {
    case 0:
      return `Just tried a ${adjective} ${noun} ${place}.`;
    case 1:
      return `Has anyone got tips for ${activity}? Asking for a friend.`;
    case 2:
      return `Day ${intBetween(rng, 2, 120)} of ${activity}: ${pick(rng, FEELINGS)}.`;
    case 3:
      return `The ${noun} ${time} was ${adjective}, and I'd do it again.`;
    case 4:
      return `My ${pick(rng, RELATIVES)} always said "${pick(rng, SAYINGS)}", and the ${noun} proved it.`;
    case 5:
      return `Spent ${intBetween(rng, 2, 9)} hours ${activity} ${place}, ${pick(rng, FEELINGS)}.`;
    case 6:
      return `Hot take: the ${noun} is ${adjective}.`;
    case 7:
      return `Still thinking about that ${noun} ${place}.`;
    case 8:
      return `If you're into ${topic.tag}, the ${noun} ${place} is worth a visit.`;
    case 9:
      return `Update on ${activity}: the ${noun} arrived ${time}, first impressions are ${adjective}.`;
    case 10:
      return `Why is every ${noun} either ${adjective} or ${pick(rng, ADJECTIVES)}?`;
    default:
      return `Quick note to self: ${activity} takes longer than you think.`;
  }
}

/** Posts that start with a character spreadsheets treat as a formula, as real posts sometimes do. */
function leadIn(rng: Rng, userId: string): string {
  switch (intBetween(rng, 0, 3)) {
    case 0:
      return `@${pick(rng, DEMO_USERS.filter((u) => u !== userId).slice(0, 20))} `;
    case 1:
      return '+1 ';
    case 2:
      return `-${intBetween(rng, 1, 15)}°C outside and `;
    default:
      return '=) ';
  }
}

function content(rng: Rng, topic: Topic, userId: string): string {
  const count = chance(rng, 0.6) ? 1 : intBetween(rng, 2, 6);
  const sentences = Array.from({ length: count }, () => sentence(rng, chance(rng, 0.8) ? topic : pick(rng, TOPICS)));
  const separator = count > 2 && chance(rng, 0.3) ? (chance(rng, 0.5) ? '\n' : '\n\n') : ' ';
  const text = sentences.join(separator);
  if (!chance(rng, 0.06)) return text;
  const lead = leadIn(rng, userId);
  return lead + text.charAt(0).toLowerCase() + text.slice(1);
}

/** Demo users' clocks: most post in UTC, some with their local offset (the same instant, another notation). */
const OFFSETS_MINUTES = [120, -300, 330, 60, -420] as const;

function isoWithOffset(instantMs: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(instantMs).toISOString();
  const local = new Date(instantMs + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The id of demo post i (1-based): `post-0000001`. */
export const demoPostId = (index: number): string => `post-${String(index).padStart(7, '0')}`;

/** Demo post i (1-based); always the same post for the same i. */
export function demoPost(index: number): Post {
  const rng = mulberry32(seedOf(index));
  const roll = rng();
  const userId = roll < 0.03 ? 'alice' : roll < 0.05 ? 'bob' : (DEMO_USERS[2 + Math.floor(rng() * (DEMO_USERS.length - 2))] as string);
  const instant = DEMO_END - Math.floor((rng() * TWO_YEARS_MS) / 1000) * 1000;
  const dateCreated = isoWithOffset(instant, chance(rng, 0.1) ? pick(rng, OFFSETS_MINUTES) : 0);
  const topic = pick(rng, TOPICS);
  const tags = chance(rng, 0.05) ? [] : [topic.tag];
  if (tags.length > 0 && chance(rng, 0.4)) tags.push(pick(rng, SIDE_TAGS));
  if (tags.length > 1 && chance(rng, 0.2)) {
    const extra = pick(rng, TOPICS).tag;
    if (!tags.includes(extra)) tags.push(extra);
  }
  return { id: demoPostId(index), userId, dateCreated, content: content(rng, topic, userId), tags };
}

/** `count` consecutive demo posts starting at index `start` (1-based). */
export function generatePosts(start: number, count: number): Post[] {
  return Array.from({ length: count }, (_, offset) => demoPost(start + offset));
}
