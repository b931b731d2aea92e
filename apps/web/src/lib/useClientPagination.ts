import { useState } from 'react';
import type { TablePaginationConfig } from 'antd';

const PAGE_SIZES = [20, 50, 100];

/**
 * Paging of a list the server returns whole (at most 500 rows): the page and its size, and the
 * table's pagination props. A change of page size goes back to the first page.
 */
export const useClientPagination = (rowCount: number, showTotal: (total: number) => string) => {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(PAGE_SIZES[0] ?? 20);
  const pagination: TablePaginationConfig = {
    current: page,
    pageSize,
    showSizeChanger: true,
    pageSizeOptions: PAGE_SIZES,
    hideOnSinglePage: rowCount <= (PAGE_SIZES[0] ?? 20),
    showTotal,
    onChange: (nextPage, nextSize) => {
      setPage(nextSize === pageSize ? nextPage : 1);
      setPageSize(nextSize);
    },
  };
  return { pagination, resetPage: () => setPage(1) };
};
