//! How a flow tells the user what it is doing without printing: the command layer
//! decides where the lines go (stdout for a person or a job log), tests may collect them.

/// A sink for a flow's progress lines.
pub(crate) trait Progress {
    /// One line for the user, as it should read (`jitaa: rule `main`: ...`).
    fn say(&self, line: &str);
}
