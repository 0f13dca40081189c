//! A structural check of an LMDB file (`data.mdb`) by reading its pages, without LMDB: every page
//! the newest meta page reaches must lie inside the file, be reached once, hold its own page
//! number, a page type its tree may hold and node offsets, keys and values inside the page; the
//! free list may only name pages no tree uses. LMDB follows these pointers unchecked (and carries
//! no page checksums), so a damaged page can crash a process that reads it; this check finds such
//! damage with a typed error instead. Every open walks the whole file (format.md, "LMDB pages").
//! Layout: 64-bit LMDB, `mdb.c` of `lmdb-master-sys`.

use crate::fsutil::FileExt;
use std::fs::File;
use std::path::Path;

use crate::codec;
use crate::error::{CorruptReason, Error, Result};

const MAGIC: u32 = 0xBEEF_C0DE;
/// `mm_version` of LMDB 0.9's meta page (u32 at byte 20).
const DATA_VERSION: u32 = 1;
/// A meta page's flag (page header u16 at byte 10).
const P_META: u16 = 0x08;
const PAGE_HEADER: usize = 16;
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
/// Flags LMDB keeps in memory that a page written to the file may still carry; they do not
/// change how a page is read.
const P_TRANSIENT: u16 = 0x10 | 0x4000 | 0x8000;
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;
const NO_PAGE: u64 = u64::MAX;
/// The free list's database flags (`MDB_INTEGERKEY`); every other database of ours has none.
const FREE_DB_FLAGS: u16 = 0x08;
const DB_RECORD: usize = 48;

/// Checks the structure of `<dir>/data.mdb` (all of it when `whole`), if there is one.
pub(crate) fn check_file(dir: &Path, whole: bool) -> Result<()> {
    let path = dir.join("data.mdb");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io("stat", &path, e))?.len();
    let meta = read_meta(&file, &path, len)?;
    check_structure(&file, &path, &meta, len, whole).map(|_| ())
}

/// What the newest valid meta page says.
pub(crate) struct Meta {
    pub page_size: u64,
    pub last_page: u64,
    /// The transaction that wrote it: a walk that races a live writer sees it change.
    pub txn: u64,
    free_flags: u16,
    free_root: u64,
    main_flags: u16,
    main_root: u64,
}

/// Reads the two meta pages and picks the newer, as LMDB does.
pub(crate) fn read_meta(file: &File, path: &Path, len: u64) -> Result<Meta> {
    let read = |offset: u64| -> Option<Meta> {
        let mut page = [0u8; 152];
        file.read_exact_at(&mut page, offset).ok()?;
        // LMDB refuses the environment when either meta page lacks `P_META` (`MDB_INVALID`) or has
        // another data version (`MDB_VERSION_MISMATCH`): a damaged one is this journal's damage.
        let flags = u16::from_le_bytes([page[10], page[11]]);
        if flags & P_META == 0 || codec::le_u32(&page[16..20]) != MAGIC || codec::le_u32(&page[20..24]) != DATA_VERSION {
            return None;
        }
        Some(Meta {
            page_size: codec::le_u32(&page[40..44]) as u64,
            free_flags: u16::from_le_bytes([page[44], page[45]]),
            free_root: codec::le_u64(&page[80..88]),
            main_flags: u16::from_le_bytes([page[92], page[93]]),
            main_root: codec::le_u64(&page[128..136]),
            last_page: codec::le_u64(&page[136..144]),
            txn: codec::le_u64(&page[144..152]),
        })
    };
    let Some(first) = read(0) else {
        return Err(Error::corrupt(path, 0, CorruptReason::BadMagic));
    };
    let page_size = first.page_size;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(Error::corrupt(path, 0, CorruptReason::Malformed("LMDB page size")));
    }
    let (meta, at) = match read(page_size) {
        Some(second) if second.page_size == page_size && second.txn > first.txn => (second, page_size),
        Some(_) => (first, 0),
        None if len < 2 * page_size => return Err(Error::corrupt(path, len, CorruptReason::Truncated)),
        None => return Err(Error::corrupt(path, page_size, CorruptReason::BadMagic)),
    };
    if meta.free_flags != FREE_DB_FLAGS || meta.main_flags != 0 || meta.last_page < 1 {
        return Err(Error::corrupt(path, at, CorruptReason::Malformed("LMDB meta page")));
    }
    Ok(meta)
}

/// The keys a page's parent bounds it by: its keys are at least the first and below the second.
type Bound = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Which tree a page belongs to: their keys and values differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// LMDB's free list: 8-byte transaction ids to lists of page numbers.
    Free,
    /// The main database: one record per named database.
    Main,
    /// A named database of ours: plain keys and values.
    Named,
}

/// One bit per page of the file: a page reached twice is a cycle or a shared page, and the free
/// list must name only pages no tree reached.
struct PageSet(Vec<u64>);

impl PageSet {
    fn insert(&mut self, page: u64) -> bool {
        let (word, bit) = ((page / 64) as usize, 1u64 << (page % 64));
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }

    fn contains(&self, page: u64) -> bool {
        self.0[(page / 64) as usize] & (1u64 << (page % 64)) != 0
    }
}

/// Walks every tree the meta page reaches (the free list, the main database, each named
/// database) and checks each page's structure, then the free list's page numbers; returns how
/// many pages it visited. Unless `whole`, only the main database and the root page of every
/// other tree are checked (the pages LMDB reads when it opens the databases).
pub(crate) fn check_structure(file: &File, path: &Path, meta: &Meta, len: u64, whole: bool) -> Result<u64> {
    let page_size = meta.page_size as usize;
    let pages_in_file = (len / meta.page_size).min(meta.last_page + 1);
    let corrupt = |page: u64, what| Error::corrupt(path, page * meta.page_size, CorruptReason::Malformed(what));
    let read = |buf: &mut [u8], offset: u64| file.read_exact_at(buf, offset).map_err(|e| Error::io("read LMDB page", path, e));
    let mut seen = PageSet(vec![0; pages_in_file.div_ceil(64) as usize + 1]);
    // (page, tree, the keys its parent bounds it by: at least the first, below the second)
    let mut stack: Vec<(u64, Tree, Bound)> = Vec::new();
    for (root, tree) in [(meta.free_root, Tree::Free), (meta.main_root, Tree::Main)] {
        if root != NO_PAGE {
            stack.push((root, tree, (None, None)));
        }
    }
    let mut page = vec![0u8; page_size];
    let mut free_pages: Vec<u64> = Vec::new();
    let mut large = Vec::new();
    let mut visited = 0u64;
    while let Some((number, tree, (low, high))) = stack.pop() {
        visited += 1;
        if number < 2 || number >= pages_in_file || !seen.insert(number) {
            return Err(corrupt(number, "a page number outside the file, or reached twice"));
        }
        read(&mut page, number * meta.page_size)?;
        if codec::le_u64(&page[..8]) != number {
            return Err(corrupt(number, "a page does not hold its own page number"));
        }
        let flags = u16::from_le_bytes([page[10], page[11]]) & !P_TRANSIENT;
        let (lower, upper) = (
            u16::from_le_bytes([page[12], page[13]]) as usize,
            u16::from_le_bytes([page[14], page[15]]) as usize,
        );
        let branch = match flags {
            P_BRANCH => true,
            P_LEAF => false,
            _ => return Err(corrupt(number, "a tree page is neither a plain branch nor a plain leaf")),
        };
        if lower < PAGE_HEADER || lower > upper || upper > page_size || !(lower - PAGE_HEADER).is_multiple_of(2) {
            return Err(corrupt(number, "a page's free-space bounds are impossible"));
        }
        let keys = (lower - PAGE_HEADER) / 2;
        if keys == 0 {
            // LMDB never leaves an empty page in a tree, and would index an empty branch page at -1.
            return Err(corrupt(number, "an empty tree page"));
        }
        // The previous node's key: keys within a page must be strictly increasing in their tree's
        // order, else a damaged node pointer (two pointers to one node, say) reads as a
        // duplicated or missing record, which the values' own checks cannot see.
        let mut previous_key: Option<&[u8]> = None;
        // A branch page's children with their separating keys (the first one's is unused).
        let mut children: Vec<(u64, Vec<u8>)> = Vec::new();
        for k in 0..keys {
            let node = u16::from_le_bytes([page[PAGE_HEADER + 2 * k], page[PAGE_HEADER + 2 * k + 1]]) as usize;
            if node < upper || node + 8 > page_size {
                return Err(corrupt(number, "a node lies outside its page"));
            }
            let header = &page[node..node + 8];
            let (lo, hi, node_flags) = (
                u16::from_le_bytes([header[0], header[1]]) as u64,
                u16::from_le_bytes([header[2], header[3]]) as u64,
                u16::from_le_bytes([header[4], header[5]]),
            );
            let key_size = u16::from_le_bytes([header[6], header[7]]) as usize;
            let data_at = node + 8 + key_size;
            if data_at > page_size {
                return Err(corrupt(number, "a key runs past its page"));
            }
            // The free list compares its keys as 8-byte integers (a branch page's first key is unused).
            if tree == Tree::Free && key_size != 8 && !(branch && k == 0) {
                return Err(corrupt(number, "a free-list key is not 8 bytes"));
            }
            // A branch page's first key is never compared (it stands for everything below the second).
            if !(branch && k == 0) {
                let key = &page[node + 8..data_at];
                if previous_key.is_some_and(|before| !key_order_increases(tree, before, key)) {
                    return Err(corrupt(number, "keys out of order in a page"));
                }
                // And inside the range its parent's separators give the page: a key changed so
                // that its page stays in order would otherwise send LMDB's searches astray.
                let above_low = low.as_deref().is_none_or(|low| low == key || key_order_increases(tree, low, key));
                let below_high = high.as_deref().is_none_or(|high| key_order_increases(tree, key, high));
                if !above_low || !below_high {
                    return Err(corrupt(number, "a key outside the range its parent page gives"));
                }
                previous_key = Some(key);
            }
            if branch {
                if whole || tree == Tree::Main {
                    children.push((lo | hi << 16 | (node_flags as u64) << 32, page[node + 8..data_at].to_vec()));
                }
                continue;
            }
            let data_size = (lo | hi << 16) as usize;
            let expected_flags = if tree == Tree::Main { F_SUBDATA } else { 0 };
            if node_flags & !F_BIGDATA != expected_flags || (tree == Tree::Main && node_flags & F_BIGDATA != 0) {
                return Err(corrupt(number, "a node's flags do not fit its database"));
            }
            if node_flags & F_BIGDATA != 0 {
                let pointer = page
                    .get(data_at..data_at + 8)
                    .ok_or_else(|| corrupt(number, "a value runs past its page"))?;
                let first = codec::le_u64(pointer);
                let count = (data_size + PAGE_HEADER).div_ceil(page_size) as u64;
                if first < 2 || first.saturating_add(count) > pages_in_file {
                    return Err(corrupt(number, "a large value's pages lie outside the file"));
                }
                let mut overflow = [0u8; PAGE_HEADER];
                read(&mut overflow, first * meta.page_size)?;
                let flags = u16::from_le_bytes([overflow[10], overflow[11]]) & !P_TRANSIENT;
                if codec::le_u64(&overflow[..8]) != first || flags != P_OVERFLOW || (codec::le_u32(&overflow[12..16]) as u64) < count {
                    return Err(corrupt(first, "a large value's first page is not its own"));
                }
                if whole {
                    for p in first..first + count {
                        if !seen.insert(p) {
                            return Err(corrupt(p, "a large value's page is reached twice"));
                        }
                    }
                }
                visited += count;
                if tree == Tree::Free && whole {
                    large.resize(data_size, 0);
                    read(&mut large, first * meta.page_size + PAGE_HEADER as u64)?;
                    free_list_pages(&large, &mut free_pages).ok_or_else(|| corrupt(first, "a malformed free-list record"))?;
                }
                continue;
            }
            if data_at + data_size > page_size {
                return Err(corrupt(number, "a value runs past its page"));
            }
            let data = &page[data_at..data_at + data_size];
            match tree {
                Tree::Main => {
                    // A named database's record: its flags (none, for ours) and its root.
                    if data_size != DB_RECORD || u16::from_le_bytes([data[4], data[5]]) != 0 {
                        return Err(corrupt(number, "a malformed database record"));
                    }
                    let root = codec::le_u64(&data[40..48]);
                    if root != NO_PAGE {
                        stack.push((root, Tree::Named, (None, None)));
                    }
                }
                Tree::Free if whole => {
                    free_list_pages(data, &mut free_pages).ok_or_else(|| corrupt(number, "a malformed free-list record"))?;
                }
                _ => {}
            }
        }
        let count = children.len();
        for (i, (child, _)) in children.iter().enumerate() {
            let child_low = if i == 0 { low.clone() } else { Some(children[i].1.clone()) };
            let child_high = if i + 1 < count {
                Some(children[i + 1].1.clone())
            } else {
                high.clone()
            };
            stack.push((*child, tree, (child_low, child_high)));
        }
    }
    // A writer takes pages from the free list and overwrites them: one a tree still uses would be
    // damaged by the next write.
    if let Some(&bad) = free_pages
        .iter()
        .find(|&&p| p < 2 || p >= pages_in_file.max(meta.last_page + 1) || (p < pages_in_file && seen.contains(p)))
    {
        return Err(corrupt(
            bad.min(pages_in_file),
            "the free list names a page in use or outside the file",
        ));
    }
    Ok(visited)
}

/// True when `after` sorts after `before` in `tree`'s order: LMDB's default (bytes, then length)
/// or, for the free list, 8-byte native integers.
fn key_order_increases(tree: Tree, before: &[u8], after: &[u8]) -> bool {
    if tree == Tree::Free {
        return codec::le_u64(before) < codec::le_u64(after);
    }
    before < after
}

/// The page numbers of one free-list record (LMDB's ID list: a count, then that many page
/// numbers); `None` when the count does not fit the record.
fn free_list_pages(data: &[u8], out: &mut Vec<u64>) -> Option<()> {
    let count = codec::le_u64(data.get(..8)?);
    let ids = data.get(8..8usize.checked_add(usize::try_from(count).ok()?.checked_mul(8)?)?)?;
    out.extend(ids.chunks_exact(8).map(codec::le_u64));
    Some(())
}
