//! A global allocator that counts the bytes in use. The browser build installs it, so that long
//! runs can show that no frame leaks memory: the wasm linear memory only grows, and hides a
//! leak that fits in memory freed earlier, while this count falls with every free.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated and not yet freed through every [`CountingAllocator`].
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes in use.
pub struct CountingAllocator;

// SAFETY: every call goes to `System` with the caller's arguments unchanged; the count only
// records sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this allocator, so from `System`, with `layout`.
        unsafe { System.dealloc(pointer, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract on `new_size`.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            // Added first, so that the count never drops below zero in between.
            IN_USE.fetch_add(new_size, Ordering::Relaxed);
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

/// Returns the bytes allocated through [`CountingAllocator`] and not yet freed.
pub fn bytes_in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_resizes_and_frees() {
        let allocator = CountingAllocator;
        let layout = Layout::from_size_align(4096, 8).expect("layout");
        let before = bytes_in_use();
        // SAFETY: the block is resized and freed with the layouts it was allocated with.
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null());
            assert!(bytes_in_use() >= before + 4096);
            let grown = allocator.realloc(block, layout, 8192);
            assert!(!grown.is_null());
            assert!(bytes_in_use() >= before + 8192);
            allocator.dealloc(grown, Layout::from_size_align(8192, 8).expect("layout"));
        }
        assert_eq!(bytes_in_use(), before);
    }
}
