//! Delivery opaques without an allocation per message. librdkafka carries one pointer per message
//! (its opaque) to the delivery callback. A message of `produce()` carries its own `Arc`
//! ([`Opaque::One`]); a message of a batch carries a [`Member`]: a pointer to its entry in the
//! batch's member array (one array per batch, made with it: [`MemberBatch`]), every entry holding
//! the batch's address, so the message finds its batch and its place there without an allocation
//! or a reference count of its own. The batch is kept alive for all its members by one strong
//! reference, taken when it is made and released by the last member to finish (or be dropped).
//!
//! A message whose outcome nobody waits for (the confluent-kafka drop-in's `produce()` without a
//! delivery callback) carries nothing at all ([`Opaque::Quiet`], the null pointer).
//!
//! Every member is handed out once ([`Issuer`]), and ends once: finished ([`Member::finish`]),
//! dropped, or given back to its issuer (to be handed out again). Members not handed out when the
//! issuer goes count as ended.

use std::ffi::c_void;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rdkafka::util::IntoOpaque;

/// The address of a batch, in its member array: an entry's own address is a member's opaque.
struct Entry<B>(*const MemberBatch<B>);

/// A batch of `inner` whose messages travel through librdkafka as [`Member`]s.
pub struct MemberBatch<B> {
    /// Entry i is member i's target; all hold this batch's address. Never resized.
    entries: Box<[Entry<B>]>,
    /// Members not ended yet (handed out or not). The one that takes it to 0 releases the
    /// members' reference (see [`new_batch`]).
    pending: AtomicUsize,
    inner: B,
}

// SAFETY: the entries are addresses of the batch itself, only read; the batch is shared as an `Arc`
// across threads exactly as `B` is.
unsafe impl<B: Send + Sync> Send for MemberBatch<B> {}
// SAFETY: see Send; `pending` is atomic.
unsafe impl<B: Send + Sync> Sync for MemberBatch<B> {}

impl<B> Deref for MemberBatch<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.inner
    }
}

impl<B> MemberBatch<B> {
    /// Counts `count` members off; true for the call that took the count to 0.
    fn end(&self, count: usize) -> bool {
        // AcqRel: the last sees what every other member did before it ended (their outcomes).
        count > 0 && self.pending.fetch_sub(count, Ordering::AcqRel) == count
    }
}

/// A new batch of `count` members around `inner`, and the issuer of its members. The batch holds
/// one extra strong reference for its members while any has not ended (none if `count` is 0).
pub fn new_batch<B: Send + Sync>(count: usize, inner: B) -> (Arc<MemberBatch<B>>, Issuer<B>) {
    let batch = Arc::new_cyclic(|weak| MemberBatch {
        // `Weak::as_ptr` is the address the value will have inside the `Arc`.
        entries: (0..count).map(|_| Entry(weak.as_ptr())).collect(),
        pending: AtomicUsize::new(count),
        inner,
    });
    let held = (count > 0).then(|| Arc::into_raw(batch.clone()));
    (batch, Issuer { batch: held, len: count, next: 0 })
}

/// Hands out a batch's members in order, each once (or again, once given back).
pub struct Issuer<B> {
    /// The members' reference (`Arc::into_raw`), None for an empty batch.
    batch: Option<*const MemberBatch<B>>,
    /// How many members the batch has (read here: the batch may be gone once all have ended).
    len: usize,
    /// The next member to hand out.
    next: usize,
}

// SAFETY: the issuer only reads the batch (an `Arc` shared across threads) and counts on its
// atomic counter.
unsafe impl<B: Send + Sync> Send for Issuer<B> {}

impl<B> Issuer<B> {
    fn batch(&self) -> Option<&MemberBatch<B>> {
        // SAFETY: while members are left to hand out, `pending` > 0 (each counts until it ends), so
        // the members' reference has not been released and the batch lives.
        self.batch.filter(|_| self.next < self.len).map(|ptr| unsafe { &*ptr })
    }

    /// The index of the next member to hand out.
    pub fn next_index(&self) -> usize {
        self.next
    }

    /// Takes back the member handed out last (refused by librdkafka, to be sent again): it is
    /// handed out again next. Any other member comes back as `Err`.
    pub fn give_back(&mut self, member: Member<B>) -> Result<(), Member<B>> {
        // Compared by address first (read from the member, alive): a member of another batch is
        // refused without touching this batch, which may be gone by then.
        let ours = self.batch.is_some_and(|ptr| std::ptr::eq(member.batch_ptr(), ptr));
        match self.next.checked_sub(1) {
            Some(last) if ours && member.index() == last => {
                std::mem::forget(member); // not ended: counted again as not handed out
                self.next = last;
                Ok(())
            }
            _ => Err(member),
        }
    }
}

impl<B> Iterator for Issuer<B> {
    type Item = Member<B>;

    fn next(&mut self) -> Option<Member<B>> {
        let batch = self.batch()?;
        let entry: *const Entry<B> = &batch.entries[self.next];
        self.next += 1;
        Some(Member { entry })
    }
}

impl<B> Drop for Issuer<B> {
    /// Members never handed out end here.
    fn drop(&mut self) {
        let Some(ptr) = self.batch else { return };
        let left = self.len - self.next;
        if left == 0 {
            return;
        }
        // SAFETY: `left` members have not ended, so the batch lives until `end` below.
        let last = unsafe { (*ptr).end(left) };
        if last {
            // SAFETY: the members' reference, from `Arc::into_raw` in `new_batch`, released once:
            // by whoever took `pending` to 0.
            drop(unsafe { Arc::from_raw(ptr) });
        }
    }
}

/// One message of a batch, until it ends: finished, dropped or given back.
pub struct Member<B> {
    entry: *const Entry<B>,
}

// SAFETY: a member only reads its batch (shared across threads as an `Arc`) and counts itself off
// its atomic counter, from whichever thread delivers it.
unsafe impl<B: Send + Sync> Send for Member<B> {}
// SAFETY: see Send; a shared member only reads.
unsafe impl<B: Send + Sync> Sync for Member<B> {}

impl<B> Member<B> {
    fn batch_ptr(&self) -> *const MemberBatch<B> {
        // SAFETY: the member has not ended, so its batch (which owns the entry) lives.
        unsafe { (*self.entry).0 }
    }

    /// The batch, alive while this member is.
    pub fn batch(&self) -> &MemberBatch<B> {
        // SAFETY: the member has not ended: `pending` > 0, the members' reference is held.
        unsafe { &*self.batch_ptr() }
    }

    /// The member's place in its batch.
    pub fn index(&self) -> usize {
        // SAFETY: `entry` points into the batch's entries (handed out by `Issuer::next`), so both
        // are in one allocation and the offset is in bounds and non-negative.
        unsafe { self.entry.offset_from(self.batch().entries.as_ptr()) as usize }
    }

    /// Ends the member: `store` records its outcome (with the batch and the member's index), then
    /// it counts itself off. The last member of the batch gets the members' reference back.
    pub fn finish(self, store: impl FnOnce(&B, usize)) -> Option<Arc<MemberBatch<B>>> {
        store(self.batch(), self.index());
        let ptr = self.batch_ptr();
        std::mem::forget(self);
        // SAFETY: this member had not ended, so the batch lives until `end`; the members'
        // reference (`Arc::into_raw` in `new_batch`) is taken back once, by the last.
        unsafe { (*ptr).end(1).then(|| Arc::from_raw(ptr)) }
    }
}

impl<B> Drop for Member<B> {
    /// A member dropped without an outcome (not expected: every path finishes its members) still
    /// ends, so its batch is freed; the batch's own cell then never finishes.
    fn drop(&mut self) {
        let ptr = self.batch_ptr();
        // SAFETY: as in `finish`.
        unsafe {
            if (*ptr).end(1) {
                drop(Arc::from_raw(ptr));
            }
        }
    }
}

/// What a message carries through librdkafka: its own `Arc<C>`, its place in a batch, or nothing.
pub enum Opaque<C, B> {
    One(Arc<C>),
    Member(Member<B>),
    /// Nothing to resolve: the message is only counted off when it finishes. No allocation.
    Quiet,
}

/// The tag of a member's pointer; an `Arc`'s and an entry's addresses are at least 2-aligned.
const MEMBER_TAG: usize = 1;

impl<C: Send + Sync, B: Send + Sync> IntoOpaque for Opaque<C, B> {
    fn into_ptr(self) -> *mut c_void {
        const { assert!(std::mem::align_of::<C>() > MEMBER_TAG && std::mem::align_of::<Entry<B>>() > MEMBER_TAG) };
        match self {
            Opaque::One(arc) => Arc::into_raw(arc) as *mut c_void,
            Opaque::Member(member) => {
                let ptr = member.entry;
                std::mem::forget(member); // travels as the pointer; ends when it comes back
                ptr.map_addr(|a| a | MEMBER_TAG) as *mut c_void
            }
            Opaque::Quiet => std::ptr::null_mut(),
        }
    }

    /// # Safety
    ///
    /// `ptr` came from [`into_ptr`](Self::into_ptr) of this type and is converted back once.
    unsafe fn from_ptr(ptr: *mut c_void) -> Self {
        if ptr.is_null() {
            // No `Arc` or entry has the address 0: only `Opaque::Quiet` becomes it.
            Opaque::Quiet
        } else if ptr.addr() & MEMBER_TAG == 0 {
            // SAFETY: an `Arc<C>`'s pointer from `into_ptr`, given back once (the caller's contract).
            Opaque::One(unsafe { Arc::from_raw(ptr as *const C) })
        } else {
            // SAFETY: a member's entry pointer, tagged by `into_ptr`; the member had not ended.
            Opaque::Member(Member { entry: ptr.map_addr(|a| a & !MEMBER_TAG) as *const Entry<B> })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_last_member_frees_the_batch() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (batch, mut issuer) = new_batch(3, Counted(drops.clone()));
        let members: Vec<_> = issuer.by_ref().collect();
        assert_eq!(members.iter().map(Member::index).collect::<Vec<_>>(), [0, 1, 2]);
        drop((batch, issuer));
        let mut seen = Vec::new();
        for (n, m) in members.into_iter().enumerate() {
            let last = m.finish(|_, i| seen.push(i));
            assert_eq!(last.is_some(), n == 2);
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            drop(last);
        }
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_member_of_another_batch_is_not_taken_back() {
        let (_, mut a) = new_batch(1, ());
        let (_, mut b) = new_batch(1, ());
        let from_b = b.next().unwrap();
        let Err(from_b) = a.give_back(from_b) else { panic!("taken back by another batch") };
        assert!(b.give_back(from_b).is_ok());
        assert_eq!(b.next_index(), 0);
    }

    #[test]
    fn members_round_trip_through_opaques_and_can_be_given_back() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (batch, mut issuer) = new_batch(2, Counted(drops.clone()));
        let first = issuer.next().unwrap();
        let second = issuer.next().unwrap();
        let Err(first) = issuer.give_back(first) else { panic!("not the last handed out") };
        assert!(issuer.give_back(second).is_ok());
        assert_eq!(issuer.next_index(), 1);
        let ptr = Opaque::<u64, Counted>::Member(first).into_ptr();
        // SAFETY: the pointer just made by into_ptr, converted back once.
        let Opaque::Member(first) = (unsafe { Opaque::<u64, Counted>::from_ptr(ptr) }) else { panic!() };
        assert_eq!(first.index(), 0);
        drop(first); // ends without an outcome
        drop(batch);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(issuer); // member 1, given back and never handed out again, ends here
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let one = Opaque::<u64, Counted>::One(Arc::new(7)).into_ptr();
        // SAFETY: as above.
        assert!(matches!(unsafe { Opaque::<u64, Counted>::from_ptr(one) }, Opaque::One(v) if *v == 7));
        let quiet = Opaque::<u64, Counted>::Quiet.into_ptr();
        assert!(quiet.is_null());
        // SAFETY: as above.
        assert!(matches!(unsafe { Opaque::<u64, Counted>::from_ptr(quiet) }, Opaque::Quiet));
    }
}
