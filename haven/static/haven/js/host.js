// @ts-check
/**
 * What only the host's page needs: the waiting-room panel, lock and requests, remove and
 * ban, screen sharing. room.js loads this module on the host's page only, so attendees'
 * browsers never download it (page weight, bench/ issue 8).
 */
export { onHostLockChanged, onLockAttempt, onLockRefused, setUpHostControls } from "./host-controls.js";
export { onRosterChanged } from "./remove-form.js";
export { screenLostInRestart, setUpScreenShare, stopSharing } from "./screen-share.js";
export {
  onAdmitRefused,
  onAdmittedAll,
  onWaitingListChanged,
  renderWaitingList,
  setUpWaitingList,
} from "./waiting-list.js";
