//! A structural check of an LMDB file (`data.mdb`) by reading its pages, without LMDB: every page
//! the newest meta page reaches must lie inside the file and hold its own page number, a known
//! page type and node offsets inside the page. LMDB follows these pointers unchecked (and
//! carries no page checksums), so a damaged page can crash a process that reads it; this check
//! finds such damage with a typed error instead. Layout: 64-bit LMDB, `mdb.c` of `lmdb-master-sys`.

use crate::fsutil::FileExt;
use std::fs::File;
use std::path::Path;

use crate::codec;
use crate::error::{CorruptReason, Error, Result};

const MAGIC: u32 = 0xBEEF_C0DE;
const PAGE_HEADER: usize = 16;
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;
const NO_PAGE: u64 = u64::MAX;

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
    free_root: u64,
    main_root: u64,
}

/// Reads the two meta pages and picks the newer, as LMDB does.
pub(crate) fn read_meta(file: &File, path: &Path, len: u64) -> Result<Meta> {
    let read = |offset: u64| -> Option<(Meta, u64)> {
        let mut page = [0u8; 152];
        file.read_exact_at(&mut page, offset).ok()?;
        if codec::le_u32(&page[16..20]) != MAGIC {
            return None;
        }
        let meta = Meta {
            page_size: codec::le_u32(&page[40..44]) as u64,
            free_root: codec::le_u64(&page[80..88]),
            main_root: codec::le_u64(&page[128..136]),
            last_page: codec::le_u64(&page[136..144]),
        };
        Some((meta, codec::le_u64(&page[144..152])))
    };
    let Some((first, first_txn)) = read(0) else {
        return Err(Error::corrupt(path, 0, CorruptReason::BadMagic));
    };
    let page_size = first.page_size;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(Error::corrupt(path, 0, CorruptReason::Malformed("LMDB page size")));
    }
    match read(page_size) {
        Some((second, txn)) if second.page_size == page_size && txn > first_txn => Ok(second),
        Some(_) => Ok(first),
        None if len < 2 * page_size => Err(Error::corrupt(path, len, CorruptReason::Truncated)),
        None => Err(Error::corrupt(path, page_size, CorruptReason::BadMagic)),
    }
}

/// Walks every tree the meta page reaches (the free list, the main database, each named
/// database) and checks each page's structure; returns how many pages it visited. Unless
/// `whole`, only the main database and the root page of every other tree are checked: a few
/// pages, cheap enough for every open (LMDB reads them all at once when it opens the databases).
pub(crate) fn check_structure(file: &File, path: &Path, meta: &Meta, len: u64, whole: bool) -> Result<u64> {
    let page_size = meta.page_size as usize;
    let pages_in_file = (len / meta.page_size).min(meta.last_page + 1);
    let corrupt = |page: u64, what| Error::corrupt(path, page * meta.page_size, CorruptReason::Malformed(what));
    let mut stack: Vec<(u64, bool)> = Vec::new(); // (page, is the main database)
    for (root, main) in [(meta.free_root, false), (meta.main_root, true)] {
        if root != NO_PAGE {
            stack.push((root, main));
        }
    }
    let mut page = vec![0u8; page_size];
    let mut visited = 0u64;
    while let Some((number, main)) = stack.pop() {
        visited += 1;
        if number < 2 || number >= pages_in_file || visited > pages_in_file {
            return Err(corrupt(number, "a page number outside the file (or a cycle)"));
        }
        file.read_exact_at(&mut page, number * meta.page_size)
            .map_err(|e| Error::io("read LMDB page", path, e))?;
        if codec::le_u64(&page[..8]) != number {
            return Err(corrupt(number, "a page does not hold its own page number"));
        }
        let flags = u16::from_le_bytes([page[10], page[11]]);
        let (lower, upper) = (
            u16::from_le_bytes([page[12], page[13]]) as usize,
            u16::from_le_bytes([page[14], page[15]]) as usize,
        );
        let branch = match flags & (P_BRANCH | P_LEAF | P_OVERFLOW) {
            P_BRANCH => true,
            P_LEAF => false,
            _ => return Err(corrupt(number, "a tree page is neither a branch nor a leaf")),
        };
        if lower < PAGE_HEADER || lower > upper || upper > page_size || !(lower - PAGE_HEADER).is_multiple_of(2) {
            return Err(corrupt(number, "a page's free-space bounds are impossible"));
        }
        for k in 0..(lower - PAGE_HEADER) / 2 {
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
            if branch {
                if whole || main {
                    stack.push((lo | hi << 16 | (node_flags as u64) << 32, main));
                }
                continue;
            }
            let data_size = (lo | hi << 16) as usize;
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
                file.read_exact_at(&mut overflow, first * meta.page_size)
                    .map_err(|e| Error::io("read LMDB page", path, e))?;
                let flags = u16::from_le_bytes([overflow[10], overflow[11]]);
                if codec::le_u64(&overflow[..8]) != first || flags & P_OVERFLOW == 0 || (codec::le_u32(&overflow[12..16]) as u64) < count {
                    return Err(corrupt(first, "a large value's first page is not its own"));
                }
                visited += count;
                continue;
            }
            if data_at + data_size > page_size {
                return Err(corrupt(number, "a value runs past its page"));
            }
            if node_flags & F_SUBDATA != 0 {
                // A named database's record (in the main database): its root is another tree.
                if !main || data_size != 48 {
                    return Err(corrupt(number, "a database record in the wrong place"));
                }
                let root = codec::le_u64(&page[data_at + 40..data_at + 48]);
                if root != NO_PAGE {
                    stack.push((root, false));
                }
            }
        }
    }
    Ok(visited)
}
