import { criteriaFromQuery } from '../../core/search-criteria';
import { wired, type Deps } from '../composition';
import { search } from '../ports/search';
import { callerOf, json, route, type HttpEvent } from '../http';

export const makeHandler = (deps: Pick<Deps, 'search'>) =>
  route(async (event: HttpEvent) => {
    callerOf(event);
    const { criteria, page } = criteriaFromQuery(event.queryStringParameters ?? {});
    const result = await deps.search.search(criteria, page);
    return json(200, { total: result.total, page: page.page, pageSize: page.pageSize, hits: result.hits });
  });

export const handler = wired({ search }, makeHandler);
