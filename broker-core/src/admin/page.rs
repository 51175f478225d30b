//! One page of an admin listing.

/// The items of a page when a query does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// The most items a page holds: a larger `limit` is taken as this.
pub const MAX_LIMIT: usize = 10_000;

/// One page of a listing: its items in key order, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items, at most the query's limit.
    pub items: Vec<T>,
    /// The key of the last item when more follow: the next query's `after`. `None` on the
    /// last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page of `items` (sorted by `key`, any number) after which nothing more than
    /// `limit` is kept: the cursor names the last item kept when some were left.
    pub(crate) fn cut(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = limit.clamp(1, MAX_LIMIT);
        if items.len() <= limit {
            return Page { items, next: None };
        }
        items.truncate(limit);
        let next = items.last().map(key);
        Page { items, next }
    }
}
