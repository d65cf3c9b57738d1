import { folderName, storeLabel } from '../src/workspace';

describe('the header says which registry', () => {
  it("names the workspace by its folder's name", () => {
    expect(folderName('/home/ada/work')).toBe('work');
    expect(folderName('/home/ada/work/')).toBe('work');
    expect(folderName('C:\\Users\\ada\\work')).toBe('work');
    expect(folderName('/')).toBe('/');
  });

  it('names the store by its database and host', () => {
    expect(storeLabel('sqlite:////home/ada/work/.mlops/mlops.db')).toBe('SQLite');
    expect(storeLabel('postgresql+psycopg://ada:***@db/registry')).toBe('PostgreSQL @ db');
    expect(storeLabel('postgresql://db.internal:5432/registry')).toBe('PostgreSQL @ db.internal');
    expect(storeLabel('mysql+pymysql://u:***@[::1]:3306/r')).toBe('MySQL @ ::1');
    expect(storeLabel('cockroachdb://node1/r')).toBe('cockroachdb @ node1');
    expect(storeLabel('not a url')).toBe('not a url');
  });
});
