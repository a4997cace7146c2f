import { describe, expect, it } from 'vitest';
import { PostSchema } from '../../core/model';
import { DEMO_END, DEMO_USERS, demoPost, generatePosts } from '../../infra/local/demo-data';

describe('demo posts', () => {
  const posts = generatePosts(1, 5_000);

  it('post i is the same whatever batch it is generated in', () => {
    expect(generatePosts(1_001, 3)).toEqual(posts.slice(1_000, 1_003));
    expect(demoPost(4_242)).toEqual(posts[4_241]);
    expect(generatePosts(123_456, 1)).toEqual(generatePosts(123_456, 1));
  });

  it('have zero-padded sequential ids', () => {
    expect(posts.slice(0, 2).map((p) => p.id)).toEqual(['post-0000001', 'post-0000002']);
    expect(posts.at(-1)!.id).toBe('post-0005000');
  });

  it('are valid posts', () => {
    for (const post of posts) expect(PostSchema.safeParse(post).success, post.id).toBe(true);
  });

  it('belong to about 200 users, alice and bob among them', () => {
    const owners = new Set(posts.map((p) => p.userId));
    expect(DEMO_USERS).toHaveLength(200);
    expect(owners.size).toBeGreaterThan(180);
    expect([...owners].every((user) => DEMO_USERS.includes(user))).toBe(true);
    expect(posts.filter((p) => p.userId === 'alice').length).toBeGreaterThan(50);
    expect(posts.filter((p) => p.userId === 'bob').length).toBeGreaterThan(50);
  });

  it('spread over the two years before a fixed end, some written with a UTC offset', () => {
    const instants = posts.map((p) => Date.parse(p.dateCreated));
    const twoYears = 730 * 24 * 3600 * 1000;
    expect(Math.max(...instants)).toBeLessThanOrEqual(DEMO_END);
    expect(Math.min(...instants)).toBeGreaterThanOrEqual(DEMO_END - twoYears);
    expect(Math.max(...instants) - Math.min(...instants)).toBeGreaterThan(twoYears * 0.95);
    expect(posts.some((p) => /[+-]\d{2}:\d{2}$/.test(p.dateCreated))).toBe(true);
  });

  it('carry a few tags from a small vocabulary, sometimes none', () => {
    const vocabulary = new Set(posts.flatMap((p) => p.tags));
    expect(vocabulary.size).toBeGreaterThan(10);
    expect(vocabulary.size).toBeLessThan(40);
    expect(Math.max(...posts.map((p) => p.tags.length))).toBeLessThanOrEqual(3);
    expect(posts.some((p) => p.tags.length === 0)).toBe(true);
  });

  it('have content of varied length that exercises CSV quoting and formula escaping', () => {
    const lengths = posts.map((p) => p.content.length);
    expect(Math.min(...lengths)).toBeLessThan(60);
    expect(Math.max(...lengths)).toBeGreaterThan(400);
    expect(posts.some((p) => p.content.includes(','))).toBe(true);
    expect(posts.some((p) => p.content.includes('"'))).toBe(true);
    expect(posts.some((p) => p.content.includes('\n'))).toBe(true);
    for (const lead of ['=', '+', '-', '@'])
      expect(
        posts.some((p) => p.content.startsWith(lead)),
        lead,
      ).toBe(true);
  });
});
