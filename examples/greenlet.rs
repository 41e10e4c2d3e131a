//! greenlet's test1/test2 from the seeds: explicit switching between two
//! greenlets. Prints 12, 56, 34; the line after gr2's switch (78) never runs.

use std::cell::OnceCell;
use std::rc::Rc;

use verde::Greenlet;

fn main() {
    let gr2: Rc<OnceCell<Greenlet>> = Rc::new(OnceCell::new());

    let gr2_for_test1 = gr2.clone();
    let gr1 = Greenlet::new(move |()| {
        println!("12");
        gr2_for_test1.get().expect("gr2 exists").switch(());
        println!("34");
    });

    let gr1_for_test2 = gr1.clone();
    let test2 = Greenlet::new(move |()| {
        println!("56");
        gr1_for_test2.switch(());
        println!("78");
    });
    gr2.set(test2).expect("set once");

    gr1.switch(());
}
